import path from 'node:path';
import { releasesToPrune } from '../lib/prune.js';
import { currentId, listReleaseIds, readRelease, type ReleaseInfo } from '../lib/release.js';
import type { DeployContext, Step } from './types.js';

async function toPrune(ctx: DeployContext): Promise<string[]> {
  const ids = await listReleaseIds(ctx.host, ctx.paths);
  const infos = new Map<string, ReleaseInfo | undefined>();
  for (const id of ids) infos.set(id, await readRelease(ctx.host, ctx.paths, id, ctx.out));
  return releasesToPrune(ids, infos, await currentId(ctx.host, ctx.paths), ctx.config.keepReleases);
}

/** Keep `keepReleases` releases: failed first out, never current or the newest good one before it. */
export const prune: Step = {
  id: 'prune',
  async plan(ctx) {
    const ids = await toPrune(ctx);
    if (ids.length === 0) return { skip: `${ctx.config.keepReleases} or fewer releases kept`, summary: '' };
    return { summary: `remove ${ids.join(', ')}` };
  },
  async run(ctx) {
    const ids = await toPrune(ctx);
    for (const id of ids) await ctx.host.remove(path.join(ctx.paths.releases, id));
    return ids.length ? `removed ${ids.length}` : undefined;
  },
};
