/**
 * Carry-over: a browser tab opened on an older release still asks for that release's hashed files
 * (lazy chunks, CSS) after `current` moved. The hashed files of the releases that stay on disk are
 * hard-linked into the new release's frontend/, so any Nginx `root .../current/frontend` serves them.
 *
 * - Only a source release's *own* files are carried (what its build produced), never what it carried
 *   itself: otherwise files would ride along from release to release forever. Each release records its
 *   own files in releases/<id>/frontend-files.json (outside frontend/, so Nginx never serves it). A
 *   release without that record (deployed before carry-over existed) counts everything as its own.
 * - Sources are the releases the prune step will keep once this deploy succeeds (same rule, same
 *   keepReleases), so pruning later removes nothing a kept release needs; hard links make removing a
 *   source release harmless anyway: the data lives as long as one name points at it.
 * - The new release's own files always win: a name that exists is never replaced; and `X.gz`/`X.br`
 *   is not carried next to an own `X` (the sibling must be the compressed form of that very file).
 */
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import type { FileEntry, Host } from '../host/types.js';
import type { Reporter } from '../output/reporter.js';
import type { Paths, Step } from '../core/types.js';
import { releasesToPrune } from './prune.js';
import { listReleaseIds, readRelease, type ReleaseInfo } from '../releases/release.js';
import { formatBytes } from '../output/table.js';

export const MANIFEST = 'frontend-files.json';

export interface FrontendManifest {
  /** Files the release's build produced (paths relative to frontend/, under the carry-over folders). */
  own: string[];
  /** Carried file -> the release it came from. */
  carried: Record<string, string>;
}

/** `frontend.carryOver`: folders relative to the frontend's outDir; [] turns carry-over off. */
export function carryOverDirs(config: ZddConfig): string[] {
  const f = config.frontend;
  if (!f) return [];
  return normalizeDirs(f.carryOver);
}

/** "assets", "./assets/", "static/js" -> "assets", "static/js"; anything escaping frontend/ is dropped. */
export function normalizeDirs(dirs: string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    const n = path.posix
      .normalize(d.replace(/\\/g, '/'))
      .replace(/^\.\/+/, '')
      .replace(/\/+$/, '');
    if (!n || n === '.' || n.startsWith('..') || path.posix.isAbsolute(n)) continue;
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Is `rel` (relative to frontend/) inside one of `dirs`? */
export function inDirs(rel: string, dirs: string[]): boolean {
  const n = path.posix.normalize(rel);
  if (n.startsWith('..') || path.posix.isAbsolute(n)) return false;
  return dirs.some((d) => n.startsWith(`${d}/`));
}

/**
 * The releases to carry from, newest first: those `releasesToPrune` keeps once `newId` is current and
 * ok, except the new one, releases still building, and failed releases that never went live (no
 * browser ever loaded them).
 * `ids` newest first, `newId` included or not.
 */
export function carrySources(ids: string[], infos: Map<string, ReleaseInfo | undefined>, newId: string, keep: number): string[] {
  const all = ids.includes(newId) ? ids : [newId, ...ids];
  const sim = new Map(infos);
  sim.set(newId, { ...(infos.get(newId) ?? ({ id: newId } as ReleaseInfo)), status: 'ok' });
  const pruned = new Set(releasesToPrune(all, sim, newId, keep));
  return all.filter((id) => {
    if (id === newId || pruned.has(id)) return false;
    const info = infos.get(id);
    if (!info) return false;
    if (info.status === 'ok') return true;
    return info.status === 'failed' && Boolean(info.wentLiveAt);
  });
}

export interface CarryItem {
  /** Relative to frontend/, "/" separators. */
  rel: string;
  from: string;
  size: number;
  release: string;
}

export interface CarryPlan {
  dirs: string[];
  sources: string[];
  /** Files of the new release under `dirs` (its own build output). */
  own: string[];
  items: CarryItem[];
  /** Names a source offered that the new release already has. */
  alreadyThere: number;
}

/** A frontend-files.json's text as a manifest; throws when it is not one. */
export function parseManifest(text: string): FrontendManifest {
  const m = JSON.parse(text) as FrontendManifest;
  if (typeof m !== 'object' || m === null || !Array.isArray(m.own)) throw new Error('not a frontend manifest');
  return m;
}

async function readManifest(host: Host, file: string): Promise<FrontendManifest | undefined> {
  const text = await host.readFile(file);
  if (text === undefined) return undefined;
  try {
    return parseManifest(text);
  } catch {
    return undefined;
  }
}

async function filesUnder(host: Host, frontend: string, dirs: string[]): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const d of dirs) {
    for (const f of await host.listFiles(path.join(frontend, d))) out.push({ ...f, path: `${d}/${f.path}` });
  }
  return out;
}

const COMPRESSED_SIBLING = /\.(gz|br)$/;

/** Works out what to carry into `releaseDir`; reads only. */
export async function planCarryOver(
  host: Host,
  paths: Paths,
  release: { id: string; dir: string },
  dirs: string[],
  keep: number,
  out?: Reporter,
): Promise<CarryPlan> {
  const plan: CarryPlan = { dirs, sources: [], own: [], items: [], alreadyThere: 0 };
  if (dirs.length === 0) return plan;
  const ids = await listReleaseIds(host, paths);
  const infos = new Map<string, ReleaseInfo | undefined>();
  for (const id of ids) if (id !== release.id) infos.set(id, await readRelease(host, paths, id, out));
  plan.sources = carrySources(ids, infos, release.id, keep);

  const own = new Set((await filesUnder(host, path.join(release.dir, 'frontend'), dirs)).map((f) => f.path));
  plan.own = [...own].sort();
  const taken = new Set(own);
  for (const src of plan.sources) {
    const srcDir = path.join(paths.releases, src);
    const manifest = await readManifest(host, path.join(srcDir, MANIFEST));
    const srcOwn = manifest ? new Set(manifest.own) : undefined;
    for (const f of await filesUnder(host, path.join(srcDir, 'frontend'), dirs)) {
      if (srcOwn && !srcOwn.has(f.path)) continue; // carried into that release: not its own
      if (!inDirs(f.path, dirs)) continue;
      if (taken.has(f.path)) {
        if (own.has(f.path)) plan.alreadyThere++;
        continue;
      }
      const base = f.path.replace(COMPRESSED_SIBLING, '');
      if (base !== f.path && own.has(base)) continue; // never a foreign .gz/.br next to an own file
      taken.add(f.path);
      plan.items.push({ rel: f.path, from: path.join(srcDir, 'frontend', f.path), size: f.size, release: src });
    }
  }
  return plan;
}

export interface CarryResult {
  files: number;
  bytes: number;
  /** Copied because hard links were impossible (these do cost space). */
  copied: number;
  copiedBytes: number;
  /** Names that turned out to be taken when linking (left alone). */
  skipped: number;
  fromReleases: string[];
}

/** Hard-links the planned files and writes the release's frontend-files.json. Safe to repeat. */
export async function applyCarryOver(host: Host, release: { id: string; dir: string }, plan: CarryPlan): Promise<CarryResult> {
  const res: CarryResult = { files: 0, bytes: 0, copied: 0, copiedBytes: 0, skipped: 0, fromReleases: [] };
  const carried: Record<string, string> = {};
  const from = new Set<string>();
  // A repeat run: what an earlier run carried is not "own".
  const earlier = await readManifest(host, path.join(release.dir, MANIFEST));
  const own = earlier ? plan.own.filter((p) => !(p in earlier.carried)) : plan.own;
  const manifestPath = path.join(release.dir, MANIFEST);
  // Written first with everything planned as carried: a run stopped halfway and repeated still knows
  // which files are not the release's own.
  const planned: Record<string, string> = { ...earlier?.carried };
  for (const item of plan.items) planned[item.rel] = item.release;
  await host.writeFile(manifestPath, `${JSON.stringify({ own, carried: planned } satisfies FrontendManifest, null, 2)}\n`);
  for (const item of plan.items) {
    const r = await host.link(item.from, path.join(release.dir, 'frontend', item.rel));
    if (r === 'exists') {
      res.skipped++;
      continue;
    }
    res.files++;
    res.bytes += item.size;
    if (r === 'copied') {
      res.copied++;
      res.copiedBytes += item.size;
    }
    carried[item.rel] = item.release;
    from.add(item.release);
  }
  if (earlier) for (const [k, v] of Object.entries(earlier.carried)) carried[k] ??= v;
  res.fromReleases = plan.sources.filter((s) => from.has(s));
  await host.writeFile(manifestPath, `${JSON.stringify({ own, carried } satisfies FrontendManifest, null, 2)}\n`);
  return res;
}

/** "carried 12 files (340.2 kB) from 2 releases as hard links (no extra disk space)". */
export function describeCarry(r: CarryResult): string {
  if (r.files === 0) return 'nothing to carry: every file of the kept releases is already there';
  const what = `carried ${r.files} file${r.files === 1 ? '' : 's'} (${formatBytes(r.bytes)}) from ${r.fromReleases.length} release${r.fromReleases.length === 1 ? '' : 's'}`;
  if (r.copied === 0) return `${what} as hard links (no extra disk space)`;
  if (r.copied === r.files) return `${what} as copies (${formatBytes(r.copiedBytes)} of disk: no hard links on this filesystem)`;
  return `${what}; ${r.copied} copied (${formatBytes(r.copiedBytes)} of disk), the rest hard links`;
}

/**
 * Hard-link the hashed files (frontend.carryOver, default ["assets"]) of the releases that stay on
 * disk into the new release's frontend/, where no file of that name exists, so a tab still open on
 * an older release can load its lazy chunks after the switch. The how is above.
 */
export const carryOver: Step<CarryPlan> = {
  id: 'carry-over',
  async plan(ctx) {
    if (!ctx.config.frontend) return { skip: 'no frontend configured', summary: '' };
    const dirs = carryOverDirs(ctx.config);
    if (dirs.length === 0) return { skip: 'frontend.carryOver is empty', summary: '' };
    const p = await planCarryOver(ctx.host, ctx.paths, ctx.release, dirs, ctx.config.keepReleases, ctx.out);
    // Even with nothing to carry, the run records the new release's own files for the next deploy.
    if (p.sources.length === 0) {
      return {
        found: p,
        summary: 'no earlier release kept: nothing to carry',
        actions: [`record the new release's own files in ${path.join(ctx.release.dir, 'frontend-files.json')}`],
      };
    }
    return {
      found: p,
      summary: `hard-link ${dirs.join(', ')} of ${p.sources.length} kept release${p.sources.length === 1 ? '' : 's'} into frontend/`,
      actions: [
        `from ${p.sources.join(', ')}: up to ${p.items.length} file${p.items.length === 1 ? '' : 's'} not in the new build (the new build's files win)`,
        `record the new release's own files in ${path.join(ctx.release.dir, 'frontend-files.json')}`,
      ],
    };
  },
  async run(ctx, { found: p }) {
    const r = await applyCarryOver(ctx.host, ctx.release, p!);
    if (r.copied > 0)
      ctx.out.warn(`carry-over: ${r.copied} file(s) were copied, not hard-linked (the releases are on a filesystem without hard links); they use disk space`);
    return p!.sources.length ? describeCarry(r) : 'no earlier release kept';
  },
};
