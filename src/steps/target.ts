import { currentId } from '../releases/release.js';
import { releaseRef } from '../releases/paths.js';
import { loadCandidates, needsOf, selectTarget } from '../releases/select.js';
import type { Step } from '../core/types.js';

/**
 * Rollback, right after `lock`: what was read before the lock may be stale (with --lock-wait, another
 * deploy may have switched `current` meanwhile), so choose again on the locked state. A named
 * release stays the same release; "the previous one" is recomputed against the new `current`.
 */
export const target: Step = {
  id: 'target',
  async plan(ctx) {
    return {
      summary: `re-check ${ctx.flags.release ? `release ${ctx.release.id}` : 'the previous good release'} against current once the lock is held`,
    };
  },
  async run(ctx) {
    const cur = await currentId(ctx.host, ctx.paths);
    const candidates = await loadCandidates(ctx.host, ctx.paths);
    const sel = selectTarget({ requested: ctx.flags.release, current: cur, candidates, force: ctx.flags.force, needs: needsOf(ctx.config) });
    if (cur !== ctx.previous?.id) ctx.out.warn(`current moved to ${cur ?? 'nothing'} while waiting for the lock (was ${ctx.previous?.id ?? 'nothing'})`);
    if (sel.id !== ctx.release.id) ctx.out.warn(`rolling back to ${sel.id} instead of ${ctx.release.id}, the previous good release of the new current`);
    ctx.release = releaseRef(ctx.paths, sel.id);
    ctx.previous = cur ? releaseRef(ctx.paths, cur) : undefined;
    return `${ctx.previous?.id ?? 'nothing'} -> ${ctx.release.id}`;
  },
};
