import path from 'node:path';
import { StepFailed } from '../core/errors.js';
import type { DeployContext, Step } from '../core/types.js';
import { currentId } from '../releases/release.js';

/**
 * Point `current` at a release: symlink under a temp name in the same folder, then rename(2) over
 * `current`. `current` is never missing or half-written. The link is relative (`releases/<id>`), so
 * the deploy root can be moved or mounted elsewhere.
 */
export async function pointCurrentAt(ctx: DeployContext, id: string): Promise<void> {
  await ctx.host.symlinkAtomic(path.join('releases', id), ctx.paths.current);
}

export async function assertCurrentIsLink(ctx: DeployContext, step: string): Promise<void> {
  const st = await ctx.host.lstat(ctx.paths.current);
  if (st && st.type !== 'symlink') {
    throw new StepFailed(step, `${ctx.paths.current} is a real ${st.type === 'dir' ? 'folder' : 'file'}, not a link zdd manages`, {
      hint: `move it aside (for example into ${ctx.paths.releases}/<YYYYMMDDHHmmss>/) and deploy again; zdd never deletes it`,
    });
  }
}

/** Move traffic: `current` -> releases/<id>, atomically. Undo points it back. */
export const switchCurrent: Step = {
  id: 'switch',
  async plan(ctx) {
    await assertCurrentIsLink(ctx, 'switch');
    if ((await currentId(ctx.host, ctx.paths)) === ctx.release.id) return { skip: `current already is ${ctx.release.id}`, summary: '' };
    return { summary: `current -> releases/${ctx.release.id}${ctx.previous ? ` (was ${ctx.previous.id})` : ''}` };
  },
  async run(ctx) {
    await pointCurrentAt(ctx, ctx.release.id);
    ctx.switched = true;
    ctx.state.liveAt = new Date().toISOString();
  },
  async undo(ctx) {
    if (ctx.previous) await pointCurrentAt(ctx, ctx.previous.id);
    else await ctx.host.remove(ctx.paths.current);
    ctx.switched = false;
  },
};
