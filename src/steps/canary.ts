import path from 'node:path';
import { StepFailed } from '../core/errors.js';
import { tail } from '../host/local.js';
import { onThisMachine } from '../host/types.js';
import type { BackgroundProcess } from '../host/types.js';
import { describeMode, ensureReloadSafety, readReloadSafety, reloadSafetyArgs } from '../pm2/reload-safety.js';
import type { DeployContext, Step } from '../core/types.js';
import { failedNativeModule, nativeHint, snapshot, writtenState } from './canary-checks.js';

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
 * answer the health check with 2xx within `healthcheck.timeout`, and (unless `backend.waitReady` is
 * false) send `process.send('ready')` within `backend.readyTimeout`. A release that fails here is
 * never served: PM2 itself would report a crashing release as reloaded, and would swap in a worker
 * that never sends `ready` once `listen_timeout` expires.
 */
type Backend = NonNullable<DeployContext['config']['backend']>;

/** `backend.waitReady` (default true): the app sends `process.send('ready')`, and PM2 is told to wait for it. */
function readyCheck(b: Backend): boolean {
  return b.waitReady !== false;
}

/** Resolves when `p` does, when the process exits, or after `ms`, whichever comes first. */
async function waitFor(p: Promise<unknown>, exited: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, exited, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms))))]);
  clearTimeout(timer);
}

function notReady(b: Backend, hpath: string, waitedMs: number, output: string): StepFailed {
  return new StepFailed(
    'canary',
    `the app answered ${hpath} but never sent process.send('ready') (waited ${waitedMs} ms, backend.readyTimeout is ${b.readyTimeout} ms). ` +
      `PM2 starts each worker with wait_ready: it would wait readyTimeout for every worker and then swap it in anyway, ` +
      `so every reload would be slow and a worker that never gets ready would go live`,
    {
      tail: output || '(the app printed nothing)',
      hint:
        "the release was not switched. Call process.send?.('ready') once the server listens (reloadSafe() from zdd/runtime does it), " +
        'or set backend.waitReady: false if the app cannot',
    },
  );
}

/** The reload safety's line about the app; it can trail the health check's answer by a moment. */
async function modeOf(proc: BackgroundProcess) {
  const by = Date.now() + 1000;
  let report = readReloadSafety(proc.output());
  while (!report.mode && Date.now() < by) {
    await new Promise((r) => setTimeout(r, 20));
    report = readReloadSafety(proc.output());
  }
  return report.mode;
}

/** No server on PORT within readyTimeout: say which port the app took instead, if any. */
function notListening(b: Backend, port: number, output: string): StepFailed {
  const other = readReloadSafety(output).otherPorts;
  const why = other.length
    ? `the app listens on port ${other.join(', ')}, not on PORT (${port}); zdd gives the app its port in PORT (backend.port under PM2, a free one for the canary)`
    : `the app listened on no port within backend.readyTimeout (${b.readyTimeout} ms)`;
  return new StepFailed('canary', why, {
    tail: tail(output) || '(the app printed nothing)',
    hint: other.length
      ? 'listen on Number(process.env.PORT); the release was not switched'
      : 'the release was not switched; make the app listen on process.env.PORT, or raise backend.readyTimeout',
  });
}

/** How long the canary's files are given to settle after it was asked to stop (it may still be draining). */
const SETTLE_MS = 3000;

/**
 * Files the app wrote in its release folder while it booted, each reported as a warning with the
 * shared.dirs / shared.files line that would keep it; '' when it wrote none (or none could be compared).
 */
async function stateWritten(ctx: DeployContext, before: Awaited<ReturnType<typeof snapshot>>, cwd: string): Promise<string> {
  if (!before) return '';
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([ctx.state.canaryStopped, new Promise<void>((r) => (timer = setTimeout(r, SETTLE_MS)))]);
  clearTimeout(timer);
  const warnings = writtenState(before, await snapshot(ctx.host, cwd), ctx.paths.shared);
  for (const w of warnings) ctx.out.warn(w);
  return warnings.length ? `; the app wrote state inside the release (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : '';
}

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
    // The Node that runs zdd here; on another host, the one on its PATH.
    const node = onThisMachine(ctx.host) ? process.execPath : 'node';
    await ensureReloadSafety(ctx.host, ctx.config, ctx.release.dir);
    // What the release's backend holds before the app runs: what it writes there would not outlive the release.
    const before = await snapshot(ctx.host, cwd);
    const proc = ctx.host.spawn([node, ...reloadSafetyArgs(ctx.config, ctx.release.dir), path.join(cwd, b.script)], {
      cwd,
      ipc: true,
      env: { ...b.env, PORT: String(port), ZDD_RELEASE: ctx.release.id, ZDD_CANARY: '1', ZDD_KILL_TIMEOUT: String(b.killTimeout) },
    });
    ctx.state.canary = proc;
    // If zdd is killed now, the next deploy finds the canary here and stops it (it runs in its own group).
    await proc.started;
    if (proc.pid) await ctx.host.writeFile(canaryFile(ctx), `${JSON.stringify({ pid: proc.pid, release: ctx.release.id, port })}\n`);
    const startedAt = Date.now();
    let ready = false;
    const readyMessage = proc.waitForMessage('ready').then(() => (ready = true));
    let exited: { code: number | null; signal: string | null } | undefined;
    void proc.exited.then((e) => (exited = e));
    const url = `http://127.0.0.1:${port}${hpath}`;
    const deadline = Date.now() + timeout;
    let last = 'no answer yet';
    const fail = (why: string) => {
      const native = failedNativeModule(proc.output());
      return new StepFailed('canary', native ? `${why}: the native module of ${native} failed to load` : why, {
        tail: tail(proc.output()) || '(the app printed nothing)',
        hint: native
          ? nativeHint(native, b.root, node === 'node' ? 'the node on its PATH' : process.version)
          : 'the release was not switched; fix the app and deploy again',
      });
    };
    for (;;) {
      if (exited) throw fail(`the app exited at boot (${exited.signal ?? `code ${exited.code}`}) before answering ${hpath}`);
      if (ctx.interrupt.requested) throw fail('interrupted');
      // With zdd's reload safety loaded, the app says which port it listens on.
      if (b.reloadSafe && Date.now() > startedAt + b.readyTimeout && !readReloadSafety(proc.output()).mode) throw notListening(b, port, proc.output());
      try {
        const r = await ctx.host.httpGet(url, Math.min(5000, Math.max(500, deadline - Date.now())));
        if (r.status >= 200 && r.status < 300) {
          // PM2 starts workers with wait_ready: the app must also say it is ready. It may answer
          // before it does (or the message may trail the answer): wait up to readyTimeout from boot.
          const waitReady = readyCheck(b);
          const readyBy = startedAt + b.readyTimeout;
          while (waitReady && !ready && !exited && !ctx.interrupt.requested && Date.now() < readyBy) {
            await waitFor(readyMessage, proc.exited, Math.min(200, readyBy - Date.now()));
          }
          if (waitReady && !ready) {
            // (set by the callback above while we waited; TypeScript cannot see that)
            const gone = exited as { code: number | null; signal: string | null } | undefined;
            if (gone) throw fail(`the app exited (${gone.signal ?? `code ${gone.code}`}) after answering ${hpath}, before it sent process.send('ready')`);
            if (ctx.interrupt.requested) throw fail('interrupted');
            throw notReady(b, hpath, Date.now() - startedAt, tail(proc.output()));
          }
          const mode = b.reloadSafe ? await modeOf(proc) : undefined;
          // Let it drain in the background; cleanup waits for it at the end of the deploy.
          ctx.state.canaryStopped = proc.stop(b.killTimeout);
          const wrote = await stateWritten(ctx, before, cwd);
          const safety = b.reloadSafe
            ? `; reload-safe by ${mode ? describeMode(mode) : 'nothing seen (the reload safety printed no line)'}`
            : '; backend.reloadSafe is off';
          return `${hpath} answered ${r.status} on port ${port}${ready ? ", sent 'ready'" : ''}${safety}${wrote}`;
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
    const proc = ctx.state.canary;
    if (ctx.config.backend) await (ctx.state.canaryStopped ?? proc?.stop(ctx.config.backend.killTimeout));
    await ctx.host.remove(canaryFile(ctx));
  },
};
