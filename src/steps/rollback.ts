/**
 * Rollback: no build; the same lock, checks, switch, reload and verify as a deploy. In a module of its
 * own so that `zdd rollback` does not load the deploy's build steps.
 */
import { lock } from './lock.js';
import { nginxReload } from './nginx-reload.js';
import { nginxTest } from './nginx-test.js';
import { pm2 } from './pm2.js';
import { pm2Check } from './pm2-check.js';
import { record } from './record.js';
import { switchCurrent } from './switch.js';
import { currentId } from '../lib/release.js';
import { releaseRef } from '../lib/paths.js';
import { loadCandidates, selectTarget } from '../lib/select.js';
import type { DeployContext, Step } from './types.js';
import { verify } from './verify.js';

export const rollbackSteps: Step[] = [lock, nginxTest, pm2Check, switchCurrent, pm2, verify, nginxReload, record];

export function needsOf(ctx: Pick<DeployContext, 'config'>) {
  return { backend: Boolean(ctx.config.backend), frontend: Boolean(ctx.config.frontend) };
}

/**
 * Runs right after `lock`: what was read before the lock may be stale (with --lock-wait, another
 * deploy may have switched `current` meanwhile), so choose again on the locked state. A named
 * release stays the same release; "the previous one" is recomputed against the new `current`.
 */
function recheck(requested: string | undefined, force: boolean): Step {
  return {
    id: 'target',
    async plan(ctx) {
      return { summary: `re-check ${requested ? `release ${ctx.release.id}` : 'the previous good release'} against current once the lock is held` };
    },
    async run(ctx) {
      const cur = await currentId(ctx.host, ctx.paths);
      const sel = selectTarget({ requested, current: cur, candidates: await loadCandidates(ctx.host, ctx.paths), force, needs: needsOf(ctx) });
      const moved = cur !== ctx.previous?.id;
      if (moved) ctx.out.warn(`current moved to ${cur ?? 'nothing'} while waiting for the lock (was ${ctx.previous?.id ?? 'nothing'})`);
      if (sel.id !== ctx.release.id) ctx.out.warn(`rolling back to ${sel.id} instead of ${ctx.release.id}, the previous good release of the new current`);
      ctx.release = releaseRef(ctx.paths, sel.id);
      ctx.previous = cur ? releaseRef(ctx.paths, cur) : undefined;
      return `${ctx.previous?.id ?? 'nothing'} -> ${ctx.release.id}`;
    },
  };
}

/** The rollback's step list: the shared `rollbackSteps`, with the re-check right after the lock. */
export function stepsFor(requested: string | undefined, force: boolean): Step[] {
  return rollbackSteps.flatMap((s) => (s.id === 'lock' ? [s, recheck(requested, force)] : [s]));
}
