import { type ReleaseInfo, currentId, listReleaseIds, readRelease } from '../releases/release.js';
import path from 'node:path';
import type { DeployContext, Step } from '../core/types.js';

/**
 * Which releases to remove so that `keep` remain (current included). Failed (or unreadable) ones go
 * first, then the oldest; never `current`, never the newest good release before it.
 * `ids` newest first.
 */
export function releasesToPrune(ids: string[], infos: Map<string, ReleaseInfo | undefined>, current: string | undefined, keep: number): string[] {
  const protectedIds = new Set<string>();
  if (current) protectedIds.add(current);
  const currentIdx = current ? ids.indexOf(current) : -1;
  const fallback = ids.slice(currentIdx + 1).find((id) => infos.get(id)?.status === 'ok');
  if (fallback) protectedIds.add(fallback);

  let excess = ids.length - keep;
  if (excess <= 0) return [];
  const bad = (id: string) => {
    const s = infos.get(id)?.status;
    return s === undefined || s === 'failed';
  };
  const oldestFirst = [...ids].reverse().filter((id) => !protectedIds.has(id));
  const order = [...oldestFirst.filter(bad), ...oldestFirst.filter((id) => !bad(id))];
  const out: string[] = [];
  for (const id of order) {
    if (excess <= 0) break;
    out.push(id);
    excess--;
  }
  return out;
}

async function toPrune(ctx: DeployContext): Promise<string[]> {
  const ids = await listReleaseIds(ctx.host, ctx.paths);
  const infos = new Map<string, ReleaseInfo | undefined>();
  for (const id of ids) infos.set(id, await readRelease(ctx.host, ctx.paths, id, ctx.out));
  return releasesToPrune(ids, infos, await currentId(ctx.host, ctx.paths), ctx.config.keepReleases);
}

/** Keep `keepReleases` releases: failed first out, never current or the newest good one before it. */
export const prune: Step<string[]> = {
  id: 'prune',
  async plan(ctx) {
    const ids = await toPrune(ctx);
    if (ids.length === 0) return { skip: `${ctx.config.keepReleases} or fewer releases kept`, summary: '' };
    return { summary: `remove ${ids.join(', ')}`, found: ids };
  },
  async run(ctx, { found: ids = [] }) {
    for (const id of ids) await ctx.host.remove(path.join(ctx.paths.releases, id));
    return ids.length ? `removed ${ids.length}` : undefined;
  },
};
