/**
 * Content-addressed deploys: a hash of everything each part of a release is made from, recorded in
 * release.json (`inputs`). A kept `ok` release with the same hash already holds what a build would
 * produce, so its files are hard-linked instead of building again; a deploy whose every input equals
 * the current release's is a no-op.
 *
 * - frontend: the files under `frontend.root` (without node_modules, .git and outDir), the build
 *   command, outDir, the precompress settings, the nearest lockfile, and NODE_ENV/VITE_* variables.
 * - backend: the files under `backend.root` (without node_modules and .git), `backend.build`,
 *   `backend.script`, the shared links, the nearest lockfile, NODE_ENV, and `backend.include`'s
 *   files; with `backend.workspace`, the files of every member the release copies and its root files.
 * - install: the backend's lockfile(s), package.json and .npmrc, `backend.install`, the target's
 *   Node version, platform and arch, NODE_ENV and npm_config_* variables; with a workspace, the root
 *   files and the copied members' package.json, and the install as it runs.
 * - config: the whole config with paths relative to its folder and `backend.env` values left out
 *   (release.json is world-readable; the no-op check compares the ecosystem file for those).
 *
 * Files are walked, not listed by git, so untracked files count; paths are sorted, so the order the
 * file system returns them in does not matter. The project is read on the machine zdd runs on (the
 * builder), like the build itself.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import { onThisMachine } from '../host/types.js';
import type { DeployContext, ReleaseRef } from '../core/types.js';
import { releaseRef } from '../releases/paths.js';
import { listReleaseIds, readRelease, type ReleaseInfo } from '../releases/release.js';
import { frontendBuildInBackend } from './backend-copy.js';
import { backendInstallLine, type ProjectReader, workspaceLayout } from './workspace.js';

/** Bump when what goes into a hash changes: releases recorded before then are never reused. */
export const INPUTS_VERSION = 1;

/** Skipped at any depth in every part. */
export const IGNORED_NAMES = ['node_modules', '.git'];

export const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'];

export type Part = 'frontend' | 'backend' | 'install';

export interface Inputs {
  frontend?: string;
  backend?: string;
  install?: string;
  config: string;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

function normalizeRel(p: string): string {
  return path.posix
    .normalize(p.replace(/\\/g, '/'))
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '');
}

interface TreeEntry {
  rel: string;
  abs: string;
  kind: 'file' | 'symlink';
}

/**
 * One hash for every file under `root`: sorted relative paths, each with the hash of its content
 * (a symlink with its target text, never followed). `node_modules` and `.git` are skipped at any
 * depth; `ignore` holds paths relative to `root` (a folder there is skipped whole). A missing root
 * hashes as empty.
 */
export async function hashTree(root: string, ignore: string[] = []): Promise<string> {
  const ignored = new Set(ignore.map(normalizeRel).filter((p) => p && p !== '.' && !p.startsWith('..')));
  const entries: TreeEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    let dirents: import('node:fs').Dirent[];
    try {
      dirents = await fs.readdir(abs, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    const subdirs: Promise<void>[] = [];
    for (const d of dirents) {
      if (IGNORED_NAMES.includes(d.name)) continue;
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      if (ignored.has(childRel)) continue;
      const childAbs = path.join(abs, d.name);
      if (d.isDirectory()) subdirs.push(walk(childAbs, childRel));
      else if (d.isFile()) entries.push({ rel: childRel, abs: childAbs, kind: 'file' });
      else if (d.isSymbolicLink()) entries.push({ rel: childRel, abs: childAbs, kind: 'symlink' });
    }
    await Promise.all(subdirs);
  };
  await walk(root, '');
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));

  const digests = new Array<string>(entries.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < entries.length; i = next++) {
      const e = entries[i]!;
      digests[i] = e.kind === 'symlink' ? `link:${await fs.readlink(e.abs)}` : sha256(await fs.readFile(e.abs));
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, entries.length) }, worker));

  const h = createHash('sha256');
  for (const [i, e] of entries.entries()) h.update(`${e.kind} ${e.rel}\0${digests[i]}\n`);
  return h.digest('hex');
}

async function fileHash(file: string): Promise<string | null> {
  try {
    return sha256(await fs.readFile(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw err;
  }
}

/** The lockfile nearest to `dir` (itself, then each parent): a workspace's lives above the part. */
export async function nearestLockfile(dir: string): Promise<{ file: string; hash: string } | undefined> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    for (const name of LOCKFILES) {
      const hash = await fileHash(path.join(d, name));
      if (hash) return { file: path.join(d, name), hash };
    }
    if (path.dirname(d) === d) return undefined;
  }
}

/** The variables that shape a build, sorted: `pick` decides by name. */
export function pickEnv(env: NodeJS.ProcessEnv, pick: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(env).sort()) if (pick(k) && env[k] !== undefined) out[k] = env[k]!;
  return out;
}

export const frontendEnv = (name: string) => name === 'NODE_ENV' || name.startsWith('VITE_');
export const installEnv = (name: string) => name === 'NODE_ENV' || /^npm_config_/i.test(name);

const digest = (value: unknown) => sha256(stableJson({ v: INPUTS_VERSION, ...(value as object) }));

export async function frontendInputs(config: ZddConfig, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const f = config.frontend;
  if (!f) return undefined;
  const outRel = path.relative(f.root, path.resolve(f.root, f.outDir));
  const [files, lock] = await Promise.all([hashTree(f.root, outRel.startsWith('..') ? [] : [outRel]), nearestLockfile(f.root)]);
  return digest({
    part: 'frontend',
    files,
    build: f.build,
    outDir: normalizeRel(f.outDir),
    precompress: [f.precompress, f.precompressMinBytes],
    lock: lock?.hash ?? null,
    env: pickEnv(env, frontendEnv),
  });
}

/** This machine's files, as workspace discovery reads them. */
const localReader: ProjectReader = {
  readFile: (p) => fs.readFile(p, 'utf8').catch(() => undefined),
  readdir: (p) => fs.readdir(p),
  stat: async (p) => {
    const s = await fs.stat(p).catch(() => undefined);
    return s && { type: s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other' };
  },
};

/** A file's hash, or a folder's tree hash (null when missing). */
async function pathHash(p: string): Promise<string | null> {
  const s = await fs.stat(p).catch(() => undefined);
  if (!s) return null;
  return s.isDirectory() ? `tree:${await hashTree(p)}` : fileHash(p);
}

export async function backendInputs(config: ZddConfig, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const b = config.backend;
  if (!b) return undefined;
  const layout = b.workspace ? await workspaceLayout(localReader, b.workspace, b.root) : undefined;
  const files = layout
    ? Object.fromEntries(
        await Promise.all([
          ...layout.members.map(async (m) => [m, await hashTree(path.join(layout.root, m))] as const),
          ...layout.files.map(async (f) => [`/${f}`, await fileHash(path.join(layout.root, f))] as const),
        ]),
      )
    : // The frontend's build inside backend.root comes from the release's frontend (its own hash).
      await hashTree(
        b.root,
        [frontendBuildInBackend(config)].filter((x) => x !== undefined),
      );
  const [lock, include] = await Promise.all([
    nearestLockfile(b.root),
    Promise.all(b.include.map(async (rel) => [rel, await pathHash(path.resolve(b.root, rel))] as const)),
  ]);
  return digest({
    part: 'backend',
    files,
    build: b.build ?? null,
    script: b.script,
    // The shared links are made inside backend/: a reused backend must not carry different ones.
    shared: config.shared,
    lock: lock?.hash ?? null,
    env: pickEnv(env, (n) => n === 'NODE_ENV'),
    ...(b.include.length ? { include: Object.fromEntries(include) } : {}),
    ...(layout ? { workspace: path.relative(config.projectDir, layout.root) || '.' } : {}),
  });
}

/** `node` is what the target runs (`node --version` there), since native modules depend on it. */
export async function installInputs(config: ZddConfig, env: NodeJS.ProcessEnv, node: string): Promise<string | undefined> {
  const b = config.backend;
  if (!b) return undefined;
  const layout = b.workspace ? await workspaceLayout(localReader, b.workspace, b.root) : undefined;
  const names = layout
    ? [...layout.files.map((f) => path.join(layout.root, f)), ...layout.members.map((m) => path.join(layout.root, m, 'package.json'))]
    : [...LOCKFILES, 'package.json', '.npmrc'].map((n) => path.join(b.root, n));
  const hashes = await Promise.all(names.map((n) => fileHash(n)));
  const base = layout?.root ?? b.root;
  return digest({
    part: 'install',
    files: Object.fromEntries(names.map((n, i) => [layout ? path.relative(base, n) : path.basename(n), hashes[i]])),
    install: backendInstallLine(config, layout),
    node,
    platform: `${process.platform}-${process.arch}`,
    env: pickEnv(env, installEnv),
  });
}

/** The config as it shapes a deploy: paths relative to its folder, `backend.env` values left out. */
export function configInputs(config: ZddConfig): string {
  const rel = (p: string) => path.relative(config.projectDir, p) || '.';
  const { configPath: _path, projectDir: _dir, ...rest } = config;
  const shaped: Record<string, unknown> = { ...rest };
  if (config.frontend) shaped.frontend = { ...config.frontend, root: rel(config.frontend.root) };
  if (config.backend) {
    const b = config.backend;
    shaped.backend = { ...b, root: rel(b.root), ...(b.workspace ? { workspace: rel(b.workspace) } : {}), env: Object.keys(b.env ?? {}).sort() };
  }
  return digest({ part: 'config', config: shaped });
}

/**
 * The frontend and backend hashes of one project, shared by the hosts of one deploy: they do not
 * depend on the host (install does: its Node), so the project is hashed once, not once per host.
 */
export interface SharedPartInputs {
  frontend?: Promise<string | undefined>;
  backend?: Promise<string | undefined>;
}

export async function computeInputs(config: ZddConfig, opts: { env?: NodeJS.ProcessEnv; node: string; shared?: SharedPartInputs }): Promise<Inputs> {
  const env = opts.env ?? process.env;
  const shared = opts.shared ?? {};
  const [frontend, backend, install] = await Promise.all([
    (shared.frontend ??= frontendInputs(config, env)),
    (shared.backend ??= backendInputs(config, env)),
    installInputs(config, env, opts.node),
  ]);
  const out: Inputs = { config: configInputs(config) };
  if (frontend) out.frontend = frontend;
  if (backend) out.backend = backend;
  if (install) out.install = install;
  return out;
}

/**
 * The deploy's inputs, computed once per run (the deploy command starts it before the first step).
 * Undefined when the project could not be read (say, an unreadable file): the deploy then builds
 * everything and records no inputs, as before this existed.
 */
export function inputsFor(ctx: DeployContext): Promise<Inputs | undefined> {
  if (!ctx.state.inputs) {
    ctx.state.inputs = (async () => {
      try {
        // The Node that runs the app: this one on the machine zdd runs on, else ask the target.
        let node = process.version;
        if (!onThisMachine(ctx.host)) {
          const r = await ctx.host.exec(['node', '--version'], { readOnly: true, reject: false });
          node = r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : 'unknown';
        }
        return await computeInputs(ctx.config, { node, shared: ctx.state.sharedInputs });
      } catch (err) {
        ctx.out.warn(`could not hash the project's files (${(err as Error).message}): building everything, reusing nothing`);
        return undefined;
      }
    })();
  }
  return ctx.state.inputs;
}

/** Which kept release a part can be taken from, or why it is built. */
export interface Reuse {
  from?: ReleaseRef;
  /** Why it is reused, or why not. */
  why: string;
}

const short = (hash: string | undefined) => (hash ?? '').slice(0, 12);

/**
 * A kept `ok` release whose `part` was made from the same inputs, `current` first, then newest
 * first; `usable` checks that what is needed is still on disk. Computed once per run and part.
 */
export function findReusable(ctx: DeployContext, part: Part, usable: (from: ReleaseRef, info: ReleaseInfo) => Promise<boolean>): Promise<Reuse> {
  const reuse = (ctx.state.reuse ??= {});
  if (!reuse[part]) {
    const p = (async (): Promise<Reuse> => {
      if (ctx.flags.noCache) return { why: '--no-cache' };
      const hash = (await inputsFor(ctx))?.[part];
      if (!hash) return { why: `the ${part} inputs could not be hashed` };
      const ids = (await listReleaseIds(ctx.host, ctx.paths)).filter((id) => id !== ctx.release.id);
      if (ids.length === 0) return { why: 'first deploy' };
      const cur = ctx.previous?.id;
      const order = cur && ids.includes(cur) ? [cur, ...ids.filter((id) => id !== cur)] : ids;
      for (const id of order) {
        const info = await readRelease(ctx.host, ctx.paths, id);
        if (info?.status !== 'ok' || info.inputs?.[part] !== hash) continue;
        const from = releaseRef(ctx.paths, id);
        if (await usable(from, info)) return { from, why: `same inputs as ${id} (${short(hash)})` };
      }
      return { why: `inputs (${short(hash)}) differ from every kept release` };
    })();
    p.catch(() => {});
    reuse[part] = p;
  }
  return reuse[part];
}

/** What the deploy took from earlier releases, part -> release id (written to release.json). */
export function reusedParts(ctx: DeployContext): Partial<Record<Part, string>> {
  return { ...ctx.state.reused };
}

export function markReused(ctx: DeployContext, part: Part, id: string | undefined): void {
  const r = { ...ctx.state.reused };
  if (id) r[part] = id;
  else delete r[part];
  ctx.state.reused = r;
}
