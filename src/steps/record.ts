import { appendHistory, updateRelease } from '../lib/release.js';
import type { Step } from './types.js';

/** release.json status `ok` with duration and per-step timings; one line in the history. */
export const record: Step = {
  id: 'record',
  async plan(ctx) {
    return { summary: `mark ${ctx.release.id} ok and add it to ${ctx.paths.history}` };
  },
  async run(ctx) {
    const now = new Date();
    const durationMs = now.getTime() - ctx.startedAt.getTime();
    await updateRelease(ctx.host, ctx.paths, ctx.release.id, {
      status: 'ok',
      finishedAt: now.toISOString(),
      durationMs,
      steps: { ...ctx.timings },
      wentLiveAt: (ctx.notes.liveAt as string | undefined) ?? now.toISOString(),
    }, ctx.out);
    const me = await ctx.host.identity();
    await appendHistory(ctx.host, ctx.paths, {
      at: now.toISOString(),
      action: ctx.command,
      result: 'ok',
      release: ctx.release.id,
      from: ctx.previous?.id ?? null,
      user: me.user,
      host: me.hostname,
      durationMs,
    }, ctx.out);
  },
};
