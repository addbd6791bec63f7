/**
 * `zdd releases`: the kept releases, newest first, as a table (or `{ releases: [...] }` with --json).
 * Read-only. A release whose release.json is missing or corrupt is listed as `corrupt` with a
 * warning; it never stops the listing.
 */
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { EXIT } from '../core/errors.js';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
import { onEachHost } from './each-host.js';
import { pathsFor } from '../releases/paths.js';
import { currentId } from '../releases/release.js';
import { loadCandidates, type Candidate } from '../releases/select.js';
import { formatBytes, formatSpan, formatTime, renderTable } from '../output/table.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export type ReleaseRowStatus = 'current' | 'ok' | 'failed' | 'building' | 'rolled-back-from' | 'corrupt';

export interface ReleaseRow {
  id: string;
  status: ReleaseRowStatus;
  /** Is `current` pointing at it? */
  current: boolean;
  /** The status written in release.json (`ok`, `failed`, `building`), null when unreadable. */
  recordStatus: string | null;
  commit: string | null;
  createdAt: string | null;
  durationMs: number | null;
  /** Bytes of its files, hard links within it counted once (as `du` counts one folder). */
  sizeBytes: number;
  /**
   * Bytes it adds to the disk: its files whose inode no older kept release has (releases share
   * unchanged files through hard links). The oldest release adds its whole size; the sum over the
   * list is what the releases take on disk.
   */
  addsBytes: number;
  wentLiveAt: string | null;
  rolledBackAt: string | null;
  /** Why the record could not be read, or what is missing. */
  problem: string | null;
}

export function rowOf(c: Candidate, current: string | undefined, sizeBytes: number, addsBytes = sizeBytes): ReleaseRow {
  const info = c.record.ok ? c.record.info : undefined;
  const isCurrent = c.id === current;
  let status: ReleaseRowStatus;
  if (isCurrent) status = 'current';
  else if (!info) status = 'corrupt';
  else if (info.rolledBackAt && info.status === 'ok') status = 'rolled-back-from';
  else status = (['ok', 'failed', 'building'] as const).find((s) => s === info.status) ?? 'corrupt';
  return {
    id: c.id,
    status,
    current: isCurrent,
    recordStatus: info ? String(info.status) : null,
    commit: info?.commit ?? info?.git?.commit ?? null,
    createdAt: info?.createdAt ?? null,
    durationMs: typeof info?.durationMs === 'number' ? info.durationMs : null,
    sizeBytes,
    addsBytes,
    wentLiveAt: info?.wentLiveAt ?? null,
    rolledBackAt: info?.rolledBackAt ?? null,
    problem: c.record.ok ? null : c.record.problem,
  };
}

export function releasesTable(rows: ReleaseRow[]): string {
  return renderTable(
    [
      { header: 'ID' },
      { header: 'STATUS' },
      { header: 'COMMIT' },
      { header: 'CREATED (UTC)' },
      { header: 'DURATION', align: 'right' },
      { header: 'SIZE', align: 'right' },
      { header: 'ADDS (VS OLDER)', align: 'right' },
    ],
    rows.map((r) => [
      r.id,
      r.status,
      r.commit ? r.commit.slice(0, 8) : null,
      formatTime(r.createdAt),
      r.durationMs === null ? null : formatSpan(r.durationMs),
      formatBytes(r.sizeBytes),
      formatBytes(r.addsBytes),
    ]),
  );
}

/**
 * Each folder's size (its inodes counted once) and what it adds: the bytes of inodes no folder after
 * it in `dirs` has (`dirs` is newest first, so "after" is older). An unreadable folder counts 0.
 */
export async function releaseSizes(host: Host, dirs: string[]): Promise<Array<{ size: number; adds: number }>> {
  const seen = new Set<string>();
  const out: Array<{ size: number; adds: number }> = [];
  for (const dir of [...dirs].reverse()) {
    const files = await host.listFiles(dir).catch(() => []);
    const own = new Map(files.map((f) => [f.inode, f.size]));
    let size = 0;
    let adds = 0;
    for (const [inode, bytes] of own) {
      size += bytes;
      if (!seen.has(inode)) adds += bytes;
      seen.add(inode);
    }
    out.unshift({ size, adds });
  }
  return out;
}

/** The releases of one host (this machine, or one of `hosts`). */
async function releasesOn(config: ZddConfig, host: Host, io: CommandIO): Promise<CommandResult> {
  const paths = pathsFor(config);
  const current = await currentId(host, paths);
  const candidates = await loadCandidates(host, paths);
  const rows: ReleaseRow[] = [];
  const sizes = await releaseSizes(
    host,
    candidates.map((c) => path.join(paths.releases, c.id)),
  );
  for (const [n, c] of candidates.entries()) {
    const row = rowOf(c, current, sizes[n]!.size, sizes[n]!.adds);
    if (row.problem) io.out.warn(`release ${c.id}: ${row.problem.replace(/^its /, '')}`);
    rows.push(row);
  }
  if (current && !candidates.some((c) => c.id === current)) {
    io.out.warn(`current points at ${current}, which is not in ${paths.releases}`);
  }
  if (rows.length === 0) io.out.print(`no releases in ${paths.releases}`);
  else {
    const total = rows.reduce((t, r) => t + r.addsBytes, 0);
    io.out.print(releasesTable(rows));
    io.out.print(`ADDS: bytes of files no older release shares (hard links count once); ${formatBytes(total)} on disk in all`);
  }
  return { exitCode: EXIT.ok, json: { current: current ?? null, releases: rows } };
}

export async function releasesCommand(opts: GlobalOptions, io: CommandIO): Promise<CommandResult> {
  const config = await loadConfig({ configPath: opts.config, cwd: io.cwd, checkSources: false });
  return onEachHost(
    config,
    io,
    releasesOn,
    (results) => {
      if (new Set(results.map((r) => r.json.current ?? null)).size > 1) {
        return [
          `the hosts disagree on current (${results.map((r) => `${r.host}: ${r.json.current ?? 'none'}`).join(', ')}); zdd rollback <id> puts them on one release`,
        ];
      }
      return [];
    },
    { failOnDisagreement: false },
  );
}
