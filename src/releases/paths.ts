import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
import type { Paths, ReleaseRef } from '../core/types.js';

export function deployPaths(deployTo: string): Paths {
  const state = path.join(deployTo, '.zdd');
  return {
    root: deployTo,
    releases: path.join(deployTo, 'releases'),
    current: path.join(deployTo, 'current'),
    shared: path.join(deployTo, 'shared'),
    state,
    lock: path.join(state, 'lock'),
    history: path.join(state, 'history.json'),
    ecosystem: path.join(deployTo, 'ecosystem.config.cjs'),
  };
}

export function pathsFor(config: ZddConfig): Paths {
  return deployPaths(config.deployTo);
}

export function releaseRef(paths: Paths, id: string): ReleaseRef {
  return { id, dir: path.join(paths.releases, id) };
}

/** A release id is a UTC timestamp YYYYMMDDHHmmss, optionally with a -N suffix. */
export const RELEASE_ID = /^\d{14}(-\d+)?$/;

export function timestampId(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** The release `current` points at, from the link's text (`releases/<id>`). */
export function idFromLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  const id = path.basename(link.replace(/\/+$/, ''));
  return RELEASE_ID.test(id) ? id : undefined;
}

/**
 * A fresh release id: the UTC timestamp of `now`, with -2, -3... while a release of that id exists on
 * any of the targets (every host of a deploy gets the same id).
 */
export async function freshReleaseId(targets: Array<{ host: Host; releases: string }>, now: Date): Promise<string> {
  const base = timestampId(now);
  let id = base;
  for (let n = 2; (await Promise.all(targets.map((t) => t.host.lstat(`${t.releases}/${id}`)))).some(Boolean); n++) id = `${base}-${n}`;
  return id;
}
