import path from 'node:path';
import { StepFailed } from '../errors.js';
import { tail } from '../host/local.js';
import type { BackgroundProcess } from '../host/types.js';
import type { DeployContext, Step } from './types.js';

export function canaryFile(ctx: DeployContext): string {
  return path.join(ctx.paths.state, 'canary.json');
}

/**
 * A canary left running by a zdd that was killed: stop its process group, but only if the pid still
 * runs something from this deploy root's releases (pids get reused).
 */
export async function stopStrayCanary(ctx: DeployContext): Promise<void> {
  const text = await ctx.host.readFile(canaryFile(ctx));
  if (text === undefined) return;
  try {
    const { pid, release } = JSON.parse(text) as { pid: number; release: string };
    const cmdline = ((await ctx.host.readFile(`/proc/${pid}/cmdline`)) ?? '').split('\0').join(' ');
    if (Number.isInteger(pid) && pid > 1 && cmdline.includes(ctx.paths.releases + path.sep)) {
      ctx.out.warn(`stopping the canary of release ${release} (pid ${pid}) left by a deploy that stopped`);
      await ctx.host.exec(['kill', '-KILL', '--', `-${pid}`], { reject: false });
    }
  } catch {
    /* unreadable: nothing we can safely stop */
  }
  await ctx.host.remove(canaryFile(ctx));
}

/**
 * Boot the release's backend once, outside PM2, on a free port, with the app's environment; it must
 * answer the health check with 2xx within `healthcheck.timeout`. A release that fails here is never
 * served: PM2 itself would report a crashing release as reloaded.
 */
export const canary: Step = {
  id: 'canary',
  async plan(ctx) {
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    return { summary: `boot ${ctx.config.backend.script} on a free port and GET ${ctx.config.healthcheck.path}` };
  },
  async run(ctx) {
    const b = ctx.config.backend!;
    const { path: hpath, timeout } = ctx.config.healthcheck;
    const cwd = path.join(ctx.release.dir, 'backend');
    const port = await ctx.host.freePort();
    const proc = ctx.host.spawn([process.execPath, path.join(cwd, b.script)], {
      cwd,
      ipc: true,
      env: { ...b.env, PORT: String(port), ZDD_RELEASE: ctx.release.id, ZDD_CANARY: '1', ZDD_KILL_TIMEOUT: String(b.killTimeout) },
    });
    ctx.notes.canary = proc;
    // If zdd is killed now, the next deploy finds the canary here and stops it (it runs in its own group).
    if (proc.pid) await ctx.host.writeFile(canaryFile(ctx), JSON.stringify({ pid: proc.pid, release: ctx.release.id, port }) + '\n');
    let ready = false;
    void proc.waitForMessage('ready').then(() => (ready = true));
    let exited: { code: number | null; signal: string | null } | undefined;
    void proc.exited.then((e) => (exited = e));
    const url = `http://127.0.0.1:${port}${hpath}`;
    const deadline = Date.now() + timeout;
    let last = 'no answer yet';
    const fail = (why: string) =>
      new StepFailed('canary', why, { tail: tail(proc.output()) || '(the app printed nothing)', hint: 'the release was not switched; fix the app and deploy again' });
    for (;;) {
      if (exited) throw fail(`the app exited at boot (${exited.signal ?? `code ${exited.code}`}) before answering ${hpath}`);
      if (ctx.interrupt.requested) throw fail('interrupted');
      try {
        const r = await ctx.host.httpGet(url, Math.min(5000, Math.max(500, deadline - Date.now())));
        if (r.status >= 200 && r.status < 300) {
          ctx.notes.canaryReady = ready;
          // Let it drain in the background; cleanup waits for it at the end of the deploy.
          ctx.notes.canaryStopped = proc.stop(ctx.config.backend!.killTimeout);
          if (!ready) ctx.out.warn("the app answered but never sent process.send('ready'); PM2 waits backend.readyTimeout for it per worker");
          return `${hpath} answered ${r.status} on port ${port}`;
        }
        // An app may answer 503 while it warms up: keep asking until the deadline.
        last = `answered ${r.status}: ${r.body.slice(0, 200).trim()}`;
      } catch (err) {
        if (err instanceof StepFailed) throw err;
        last = (err as Error).message;
      }
      if (Date.now() >= deadline) throw fail(`${hpath} did not answer 2xx within ${timeout} ms (last: ${last})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  },
  async cleanup(ctx) {
    const proc = ctx.notes.canary as BackgroundProcess | undefined;
    await (ctx.notes.canaryStopped ?? proc?.stop(ctx.config.backend?.killTimeout ?? 5000));
    await ctx.host.remove(canaryFile(ctx));
  },
};
