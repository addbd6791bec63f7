import { inputsFor, reusedParts } from '../build/inputs.js';
import { appendHistory, runEntry, updateRelease } from '../releases/release.js';
import type { DeployContext, Step } from '../core/types.js';

/**
 * A rollback: the target keeps the record of the deploy that built it (durationMs, steps) and gets
 * `wentLiveAt` (and loses a `rolledBackAt` from an earlier rollback away from it); the release it
 * moved away from gets `rolledBackAt` (its status stays ok); one `rollback` line in the history.
 */
async function recordRollback(ctx: DeployContext, now: Date, durationMs: number): Promise<string> {
  const from = ctx.previous?.id;
  await updateRelease(
    ctx.host,
    ctx.paths,
    ctx.release.id,
    {
      wentLiveAt: ctx.state.liveAt ?? now.toISOString(),
      workersAtLive: ctx.state.liveWorkers,
      rolledBackAt: undefined,
      bakingUntil: undefined,
    },
    ctx.out,
  );
  if (from && from !== ctx.release.id) {
    await updateRelease(ctx.host, ctx.paths, from, { rolledBackAt: now.toISOString() }, ctx.out);
  }
  const me = await ctx.host.identity();
  await appendHistory(ctx.host, ctx.paths, runEntry(ctx, me, { result: 'ok', durationMs, at: now }), ctx.out);
  return `${from ?? 'nothing'} -> ${ctx.release.id}`;
}

/**
 * release.json status `ok` with duration, per-step timings, the input hashes (so a later deploy can
 * reuse its parts, or find nothing changed) and what it reused; one line in the history.
 */
export const record: Step = {
  id: 'record',
  async plan(ctx) {
    if (ctx.command === 'rollback') {
      return {
        summary: `mark ${ctx.release.id} live${ctx.previous ? ` and ${ctx.previous.id} rolled back from` : ''}; add the rollback to ${ctx.paths.history}`,
      };
    }
    return { summary: `mark ${ctx.release.id} ok and add it to ${ctx.paths.history}` };
  },
  async run(ctx) {
    const now = new Date();
    const durationMs = now.getTime() - ctx.startedAt.getTime();
    if (ctx.command === 'rollback') return recordRollback(ctx, now, durationMs);
    await updateRelease(
      ctx.host,
      ctx.paths,
      ctx.release.id,
      {
        status: 'ok',
        finishedAt: now.toISOString(),
        durationMs,
        steps: { ...ctx.timings },
        wentLiveAt: ctx.state.liveAt ?? now.toISOString(),
        workersAtLive: ctx.state.liveWorkers,
        inputs: await inputsFor(ctx),
        reused: reusedParts(ctx),
        ...(ctx.state.parallel ? { parallel: { ...ctx.state.parallel } } : {}),
        bakingUntil: undefined,
        ...(ctx.state.bake ? { bake: ctx.state.bake } : {}),
      },
      ctx.out,
    );
    const me = await ctx.host.identity();
    await appendHistory(ctx.host, ctx.paths, runEntry(ctx, me, { result: 'ok', durationMs, at: now }), ctx.out);
  },
};
