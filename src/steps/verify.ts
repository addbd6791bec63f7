import { StepFailed } from '../core/errors.js';
import type { DeployContext, Step } from '../core/types.js';
import { instancesOf } from '../pm2/reload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long every instance must have stayed up, with no restart, before it counts as running. */
const STABLE_MS = 1000;

const healthUrl = (ctx: DeployContext) => `http://127.0.0.1:${ctx.config.backend!.port}${ctx.config.healthcheck.path}`;

/** One health check on `backend.port`: undefined when it answered 2xx, else what went wrong ("answered 500"). */
export async function healthProblem(ctx: DeployContext, timeoutMs: number): Promise<string | undefined> {
  try {
    const r = await ctx.host.httpGet(healthUrl(ctx), timeoutMs);
    return r.status >= 200 && r.status < 300 ? undefined : `answered ${r.status}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Every instance online and running `releaseId`, no restart loop, and the health check 2xx on
 * `backend.port`. PM2 reports a release that crashes at boot as reloaded; this is what catches it.
 */
export async function verifyRunning(ctx: DeployContext, releaseId: string, step = 'verify'): Promise<string> {
  const b = ctx.config.backend!;
  const deadline = Date.now() + b.readyTimeout + 5000;
  let problem = '';
  for (;;) {
    const list = await instancesOf(ctx);
    const wrong = list.filter((i) => i.status !== 'online' || i.release !== releaseId);
    const want = b.instances === 'max' ? undefined : b.instances;
    if (list.length === 0) problem = 'PM2 runs no instance of the app';
    else if (wrong.length) problem = wrong.map((i) => `instance ${i.pmId} is ${i.status} running ${i.release ?? 'an unknown release'}`).join('; ');
    else if (want !== undefined && list.length < want) problem = `${list.length} of ${want} instances online`;
    else {
      // Online now; still online with no new restarts once the youngest instance has lived
      // STABLE_MS? PM2's reload waits for each worker's ready and for the old one to drain, so the
      // instances are usually older than that already and this costs nothing.
      const restarts = new Map(list.map((i) => [i.pmId, i.restarts]));
      const youngest = Math.max(...list.map((i) => i.uptimeStart ?? Date.now()));
      const wait = STABLE_MS - (Date.now() - youngest);
      if (wait > 0) await sleep(wait);
      const again = await instancesOf(ctx);
      const looping = again.filter((i) => i.status !== 'online' || i.restarts !== restarts.get(i.pmId));
      if (looping.length === 0) {
        ctx.state.instances = again.length;
        // The baseline of `zdd status`'s restarts since live (an undo verifying the release before sets none).
        if (releaseId === ctx.release.id)
          ctx.state.liveWorkers = again.map((i) => ({ pmId: i.pmId, restarts: i.restarts, uptimeStart: i.uptimeStart ?? null }));
        break;
      }
      problem = `restart loop: ${looping.map((i) => `instance ${i.pmId} ${i.status}, ${i.restarts} restarts`).join('; ')}`;
    }
    if (Date.now() >= deadline) throw new StepFailed(step, problem, { hint: `see \`pm2 logs ${ctx.config.app}\`` });
    await sleep(300);
  }
  const hDeadline = Date.now() + ctx.config.healthcheck.timeout;
  for (;;) {
    const last = await healthProblem(ctx, 5000);
    if (last === undefined) break;
    if (Date.now() >= hDeadline) throw new StepFailed(step, `${healthUrl(ctx)} ${last}`);
    await sleep(300);
  }
  return `${ctx.state.instances} instances online on ${releaseId}, ${ctx.config.healthcheck.path} 2xx`;
}

/** Every instance online on the new release, no restart loop, health check 2xx. A failure switches back. */
export const verify: Step = {
  id: 'verify',
  async plan(ctx) {
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    return { summary: `every instance online with ZDD_RELEASE=${ctx.release.id}, GET ${ctx.config.healthcheck.path} on port ${ctx.config.backend.port}` };
  },
  async run(ctx) {
    return verifyRunning(ctx, ctx.release.id);
  },
};
