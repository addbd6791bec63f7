import { CommandFailed, StepFailed } from '../core/errors.js';
import { pointCurrentAt } from './switch.js';
import { instancesOf, reloadInto, pm2For } from '../pm2/reload.js';
import type { DeployContext, Step } from '../core/types.js';
import { bakeSeconds, totals } from './bake.js';
import { verifyRunning } from './verify.js';

/**
 * While PM2 reloads onto the new release, look for one of its workers dying at boot (PM2 restarts
 * it, and after `listen_timeout` swaps it in anyway, killing a worker that served). At the first
 * such restart `current` goes back to the previous release, so PM2's own restart of that worker
 * boots the previous code, gets `ready`, and the reload ends on workers that serve: the site never
 * runs out of workers. Resolves to what was seen, once `stop()` is called.
 */
function watchForCrash(ctx: DeployContext, previous: string): { stop(): Promise<string | undefined> } {
  let stopped = false;
  let seen: string | undefined;
  const id = ctx.release.id;
  const watching = (async () => {
    const before = new Map((await instancesOf(ctx)).map((i) => [i.pmId, i.restarts]));
    while (!stopped && !seen) {
      await new Promise((r) => setTimeout(r, 100));
      const crashed = (await instancesOf(ctx).catch(() => [])).find(
        // A reload counts one restart; a second is a crash of the new worker.
        (i) => i.release === id && (i.status === 'errored' || i.restarts >= (before.get(i.pmId) ?? 0) + 2),
      );
      if (crashed) {
        seen = `instance ${crashed.pmId} of release ${id} exited at boot under PM2 (${crashed.status}, ${crashed.restarts} restarts)`;
        await pointCurrentAt(ctx, previous);
        ctx.out.warn(`${seen}: switched current back to ${previous} at once, so PM2's restart runs the previous release`);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await watching.catch(() => {});
      return seen;
    },
  };
}

/**
 * The switch-back's reload. PM2 can refuse it for a moment while it is restarting a worker of the
 * release that failed (one that crashed during the bake): try again, a few times, before giving up.
 */
async function reloadBack(ctx: DeployContext, releaseId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await reloadInto(ctx, releaseId);
      return;
    } catch (err) {
      if (attempt >= 4) throw err;
      const why = err instanceof CommandFailed && err.tail ? err.tail.split('\n').at(-1) : (err as Error).message;
      ctx.out.warn(`switching back: PM2 refused the reload (${why}); trying again in 1 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Start the app under PM2 (cluster, absolute `current/` paths) or reload it worker by worker. */
export const pm2: Step = {
  id: 'pm2',
  async plan(ctx) {
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    const running = await instancesOf(ctx);
    return {
      summary: running.length ? `reload ${ctx.config.app} (${running.length} instances), one worker at a time` : `start ${ctx.config.app} in cluster mode`,
      actions: [`write ${ctx.paths.ecosystem} (ZDD_RELEASE=${ctx.release.id})`],
    };
  },
  async run(ctx) {
    // The bake compares the new release's 5xx share with what the workers of the release before
    // answered until now.
    if (bakeSeconds(ctx) > 0 && ctx.previous) ctx.state.before = totals(await instancesOf(ctx));
    const watch = ctx.previous ? watchForCrash(ctx, ctx.previous.id) : undefined;
    let crash: string | undefined;
    try {
      ctx.state.pm2Action = await reloadInto(ctx, ctx.release.id);
    } finally {
      crash = await watch?.stop();
    }
    if (crash) throw new StepFailed('pm2', crash, { hint: `see \`pm2 logs ${ctx.config.app}\`; the site kept serving ${ctx.previous!.id}` });
    return String(ctx.state.pm2Action);
  },
  /** Back to the release that served before (or stop the app if there was none). */
  async undo(ctx) {
    if (ctx.previous) {
      await pointCurrentAt(ctx, ctx.previous.id);
      await reloadBack(ctx, ctx.previous.id);
      // The switch back is verified like the switch: every instance on the release before, healthy.
      await verifyRunning(ctx, ctx.previous.id, 'undo pm2');
    } else {
      await ctx.host.exec([...(await pm2For(ctx)), 'delete', ctx.config.app], { cwd: ctx.paths.root, reject: false });
    }
  },
};
