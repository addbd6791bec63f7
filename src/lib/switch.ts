import path from 'node:path';
import { StepFailed } from '../errors.js';
import type { DeployContext } from '../steps/types.js';

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
