/**
 * release.json and the deploy history: written atomically (temp file + rename through the host);
 * a truncated or corrupt file is reported and skipped, never a crash.
 */
import path from 'node:path';
import type { Host } from '../host/types.js';
import type { Reporter } from '../output/reporter.js';
import type { BakeReport, DeployContext, Paths, WorkerAtLive } from '../core/types.js';
import { RELEASE_ID, idFromLink } from './paths.js';

export type ReleaseStatus = 'building' | 'ok' | 'failed';

export interface ReleaseInfo {
  id: string;
  status: ReleaseStatus;
  git: { commit: string | null; branch: string | null; dirty: boolean | null };
  /** Kept for the contract's `git commit` column. */
  commit: string | null;
  user: string;
  host: string;
  createdAt: string;
  finishedAt?: string;
  durationMs?: number;
  /** step id -> ms */
  steps?: Record<string, number>;
  /** When it last became `current`. */
  wentLiveAt?: string;
  /** Each PM2 worker's restart count and start time when it last became `current` (status counts restarts from here). */
  workersAtLive?: WorkerAtLive[];
  /** Why it failed, when it did. */
  error?: string;
  /** Set when a rollback moved away from it. */
  rolledBackAt?: string;
  /** While zdd watches it after the switch (the bake): until when; removed when recorded. */
  bakingUntil?: string;
  /** What the bake watched (see BakeReport). */
  bake?: BakeReport;
  /** Hashes of what each part was made from (src/build/inputs.ts): equal hashes, equal parts. */
  inputs?: { frontend?: string; backend?: string; install?: string; config?: string };
  /** Parts taken from an earlier release by hard links instead of being built: part -> release id. */
  reused?: { frontend?: string; backend?: string; install?: string };
  /**
   * Work that ran alongside an earlier step, step id -> its own ms. Its entry in `steps` holds only
   * the time the deploy waited for it, so `steps` still adds up to the wall time.
   */
  parallel?: Record<string, number>;
}

export interface HistoryEntry {
  at: string;
  action: 'deploy' | 'rollback';
  result: 'ok' | 'failed';
  release: string;
  from: string | null;
  user: string;
  host: string;
  durationMs?: number;
  error?: string;
}

export function releaseJsonPath(paths: Paths, id: string): string {
  return path.join(paths.releases, id, 'release.json');
}

/** A release.json's text as a record; throws (saying why) when it is not JSON or not a release record. */
export function parseRelease(text: string): ReleaseInfo {
  const data = JSON.parse(text) as ReleaseInfo;
  if (typeof data !== 'object' || data === null || typeof data.status !== 'string') throw new Error('not a release record');
  return data;
}

export async function readRelease(host: Host, paths: Paths, id: string, out?: Reporter): Promise<ReleaseInfo | undefined> {
  const file = releaseJsonPath(paths, id);
  const text = await host.readFile(file);
  if (text === undefined) return undefined;
  try {
    return parseRelease(text);
  } catch (err) {
    out?.warn(`${file} is corrupt (${(err as Error).message}); skipping it`);
    return undefined;
  }
}

export async function writeRelease(host: Host, paths: Paths, info: ReleaseInfo): Promise<void> {
  await host.writeFile(releaseJsonPath(paths, info.id), `${JSON.stringify(info, null, 2)}\n`);
}

export async function updateRelease(host: Host, paths: Paths, id: string, patch: Partial<ReleaseInfo>, out?: Reporter): Promise<void> {
  const cur = await readRelease(host, paths, id, out);
  if (!cur) return;
  await writeRelease(host, paths, { ...cur, ...patch });
}

/** Release ids on disk, newest first. */
export async function listReleaseIds(host: Host, paths: Paths): Promise<string[]> {
  const names = await host.readdir(paths.releases);
  return names
    .filter((n) => RELEASE_ID.test(n))
    .sort(compareIds)
    .reverse();
}

/** Orders ids by timestamp then suffix (`20261127103000` < `20261127103000-2`). */
export function compareIds(a: string, b: string): number {
  const [ta, sa = '0'] = a.split('-');
  const [tb, sb = '0'] = b.split('-');
  return ta === tb ? Number(sa) - Number(sb) : ta! < tb! ? -1 : 1;
}

export async function currentId(host: Host, paths: Paths): Promise<string | undefined> {
  return idFromLink(await host.readlink(paths.current));
}

export async function readHistory(host: Host, paths: Paths, out?: Reporter): Promise<HistoryEntry[]> {
  const text = await host.readFile(paths.history);
  if (text === undefined) return [];
  try {
    const data = JSON.parse(text) as unknown;
    if (!Array.isArray(data)) throw new Error('not a list');
    return data as HistoryEntry[];
  } catch (err) {
    out?.warn(`${paths.history} is corrupt (${(err as Error).message}); starting a new history`);
    return [];
  }
}

/** What a failed deploy writes into its release.json: the reason, and what its bake saw, if it baked. */
export function failedRecord(ctx: Pick<DeployContext, 'state'>, message: string): Partial<ReleaseInfo> {
  return {
    status: 'failed',
    error: message,
    finishedAt: new Date().toISOString(),
    bakingUntil: undefined,
    ...(ctx.state.bake ? { bake: ctx.state.bake } : {}),
  };
}

/**
 * A rollback that failed leaves its target's record as it was (it says nothing sure about that
 * release), unless the target was switched back during its bake: then it is marked failed like a
 * deploy would be, with the reason.
 */
export async function recordFailedBake(ctx: Pick<DeployContext, 'state' | 'host' | 'paths' | 'release'>, message: string): Promise<void> {
  const result = ctx.state.bake?.result;
  if (result !== 'breach' && result !== 'stopped') return;
  await updateRelease(ctx.host, ctx.paths, ctx.release.id, failedRecord(ctx, message)).catch(() => {});
}

/** The history line of a deploy or rollback: what, by whom and where, and how it ended. */
export function runEntry(
  ctx: Pick<DeployContext, 'command' | 'release' | 'previous'>,
  me: { user: string; hostname: string },
  outcome: { result: 'ok'; durationMs: number; at?: Date } | { result: 'failed'; error: string },
): HistoryEntry {
  const at = ('at' in outcome && outcome.at) || new Date();
  return {
    at: at.toISOString(),
    action: ctx.command,
    result: outcome.result,
    release: ctx.release.id,
    from: ctx.previous?.id ?? null,
    user: me.user,
    host: me.hostname,
    ...(outcome.result === 'ok' ? { durationMs: outcome.durationMs } : { error: outcome.error }),
  };
}

export async function appendHistory(host: Host, paths: Paths, entry: HistoryEntry, out?: Reporter): Promise<void> {
  const all = await readHistory(host, paths, out);
  all.push(entry);
  await host.mkdir(paths.state);
  await host.writeFile(paths.history, `${JSON.stringify(all.slice(-500), null, 2)}\n`);
}
