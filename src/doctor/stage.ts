/**
 * The backend as a deploy would boot it, made in a temp folder on this machine: `backend.build` in
 * the working tree, a copy of backend.root without node_modules and .git (stageBackend), then
 * `backend.install` inside the copy and the shared links, as build-backend, install and shared do
 * in a release. Booting the working tree instead says nothing true: it has no production
 * node_modules (or the developer's full ones), and the app's files land in the working tree.
 *
 * The install is cached under `$XDG_CACHE_HOME/zdd/doctor/<hash>` (else ~/.cache/zdd/doctor), keyed
 * by the deploy's own install inputs (lockfiles, package.json, .npmrc, the command, Node, platform,
 * NODE_ENV and npm_config_*: src/build/inputs.ts installInputs), and hard-linked into the next
 * stage. A cache of its own rather than a kept release's node_modules: doctor runs mostly before the
 * first deploy and on a machine without releases, and it must not touch deployTo. Like the deploy,
 * a package.json with its own install scripts is never served from the cache (they may write
 * outside node_modules), and a cached node_modules must pass `npm ls --omit=dev --depth=0`.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { type BackendPieces, backendPieces, copyPieces } from '../build/backend-copy.js';
import { INSTALL_MARKER, installMarker, planBuildInstall } from '../build/build-install.js';
import { installInputs } from '../build/inputs.js';
import { backendInstallLine, installDirIn } from '../build/workspace.js';
import type { ZddConfig } from '../config/schema.js';
import type { ExecResult, Host } from '../host/types.js';
import { installScriptsOf, VERIFY_INSTALL } from '../steps/install.js';

export interface StagedBackend {
  /** The staged backend folder, `<tmp>/release/backend` (a release's `backend/`): boot it from here. */
  dir: string;
  /** What was done, for the boot row: "a staged copy installed with `npm ci --omit=dev` (12.3 s; cached for the next doctor)". */
  how: string;
  /** The install's output (the cached install's, when the cache served it). */
  installOutput: string;
  /** The staged files (not node_modules, not the shared links) before the boot: path -> `size mtime`. */
  before: Map<string, string>;
  /** The folders the shared links point to, relative to `dir` (shared.dirs and shared.files). */
  shared: string[];
  /** Remove the temp folder. Never throws. */
  remove(): Promise<void>;
}

/** A step of the staging that failed, with the command's output: the deploy would stop there too. */
export class StageFailed extends Error {
  constructor(
    readonly step: 'build' | 'copy' | 'install',
    readonly command: string,
    readonly output: string,
    readonly exitCode: number,
  ) {
    super(`${command} exited with ${exitCode}`);
  }
}

/**
 * Copy what the deploy puts in a release into `releaseDir`: backend.root as backend/ without
 * node_modules and .git, the `backend.include` files, or the workspace copy (src/build/backend-copy.ts,
 * which build-backend uses too). Returns the pieces (their workspace layout, if any).
 */
export async function stageBackend(config: ZddConfig, releaseDir: string, host: Host): Promise<BackendPieces> {
  const pieces = await backendPieces(host, config);
  await host.mkdir(releaseDir);
  await copyPieces(host, host, releaseDir, pieces);
  return pieces;
}

/** The cache folder of doctor's installs. */
export function doctorCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'zdd', 'doctor');
}

/** How many cached installs are kept (each a node_modules: hard links into it keep it alive). */
const KEEP_CACHED = 3;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** `backend.install` in the staged folder, or the cached node_modules of the same inputs. Returns the row's words and the output. */
async function install(config: ZddConfig, dir: string, host: Host, pieces: BackendPieces): Promise<{ how: string; output: string }> {
  const b = config.backend!;
  const line = backendInstallLine(config, pieces.layout);
  const cacheRoot = doctorCacheDir();
  const hash = await installInputs(config, process.env, process.version).catch(() => undefined);
  // Own install scripts: then the install always runs, as in the deploy.
  const scripts = await installScriptsOf(host, b.root);
  // A workspace installs into the copy's root and the members (pnpm): like the deploy, never cached.
  const cached = hash && !scripts.length && !pieces.layout ? path.join(cacheRoot, hash.slice(0, 32)) : undefined;
  if (cached && (await host.stat(path.join(cached, 'node_modules')))?.type === 'dir') {
    await host.linkTree(path.join(cached, 'node_modules'), path.join(dir, 'node_modules'));
    const check = await host.exec(VERIFY_INSTALL, { cwd: dir, reject: false });
    if (check.exitCode === 0) {
      const output = (await host.readFile(path.join(cached, 'install.log'))) ?? '';
      return { how: `a staged copy with node_modules from doctor's cache (same lockfile, package.json, \`${line}\` and Node)`, output };
    }
    await host.remove(path.join(dir, 'node_modules'));
  }
  const t0 = performance.now();
  const r: ExecResult = await host.shell(line, { cwd: dir, reject: false, timeoutMs: 15 * 60_000 });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new StageFailed('install', line, r.all, r.exitCode);
  let saved = '';
  if (cached && (await host.stat(path.join(dir, 'node_modules')))?.type === 'dir') {
    saved = await saveToCache(host, cacheRoot, cached, dir, r.all).catch(() => '');
  } else if (scripts.length) saved = `; not cached: package.json has install scripts (${scripts.join(', ')})`;
  return { how: `a staged copy installed with \`${line}\` (${seconds(ms)}${saved})`, output: r.all };
}

/** Hard-link the fresh node_modules into the cache (a temp name, then rename: two doctors may race), keep the newest few. */
async function saveToCache(host: Host, cacheRoot: string, cached: string, dir: string, output: string): Promise<string> {
  const tmp = `${cached}.tmp-${process.pid}`;
  await host.remove(tmp);
  await host.linkTree(path.join(dir, 'node_modules'), path.join(tmp, 'node_modules'));
  await host.writeFile(path.join(tmp, 'install.log'), output);
  await host.remove(cached);
  await host.rename(tmp, cached).catch(async () => host.remove(tmp));
  const entries = await host.readdir(cacheRoot).catch(() => [] as string[]);
  const dated = await Promise.all(entries.map(async (e) => ({ e, at: (await host.stat(path.join(cacheRoot, e)))?.mtimeMs ?? 0 })));
  for (const old of dated.sort((a, b) => b.at - a.at).slice(KEEP_CACHED)) await host.remove(path.join(cacheRoot, old.e));
  return '; cached for the next doctor';
}

/** The shared links, as the shared step makes them, to folders of the stage's own `shared/`. */
async function linkShared(config: ZddConfig, stageRoot: string, dir: string, host: Host): Promise<string[]> {
  const { files, dirs } = config.shared;
  const shared = path.join(stageRoot, 'shared');
  for (const d of dirs) await host.mkdir(path.join(shared, d));
  for (const f of files) {
    await host.mkdir(path.dirname(path.join(shared, f)));
    // The deploy needs the file in <deployTo>/shared; an empty one lets the app boot here.
    if (!(await host.stat(path.join(shared, f)))) await host.writeFile(path.join(shared, f), '');
  }
  for (const entry of [...files, ...dirs]) {
    const link = path.join(dir, entry);
    await host.mkdir(path.dirname(link));
    await host.remove(link);
    await host.symlink(path.join(shared, entry), link);
  }
  return [...files, ...dirs];
}

/** The staged files outside node_modules and the shared links: path -> `size mtime`. */
export async function snapshot(host: Host, dir: string, skip: string[]): Promise<Map<string, string>> {
  const files = await host.listFiles(dir);
  const out = new Map<string, string>();
  for (const f of files) {
    if (f.path.startsWith('node_modules/') || skip.some((s) => f.path === s || f.path.startsWith(`${s}/`))) continue;
    out.set(f.path, `${f.size} ${Math.round(f.mtimeMs)}`);
  }
  return out;
}

/**
 * The dev-dependency install `backend.build` needs in a fresh checkout, as the deploy's
 * install-backend-build step runs it (into the working tree, with the same up-to-date marker).
 */
async function buildInstall(config: ZddConfig, host: Host): Promise<void> {
  const b = config.backend!;
  const plan = await planBuildInstall(host, { start: b.workspace ?? b.root, stop: config.projectDir, setting: b.buildInstall, node: process.version });
  if (!plan || plan.fresh) return;
  const r = await host.shell(plan.command, { cwd: plan.dir, reject: false, timeoutMs: 15 * 60_000 });
  if (r.exitCode !== 0) throw new StageFailed('build', plan.command, r.all, r.exitCode);
  await host.writeFile(path.join(plan.dir, INSTALL_MARKER), installMarker(plan, process.version, new Date()));
}

/** Build, copy, install and link as the deploy would; throws StageFailed when a step fails. */
export async function prepareBackend(config: ZddConfig, host: Host): Promise<StagedBackend> {
  const b = config.backend!;
  if (b.build) {
    await buildInstall(config, host);
    const r = await host.shell(b.build, { cwd: b.root, reject: false, timeoutMs: 15 * 60_000 });
    if (r.exitCode !== 0) throw new StageFailed('build', b.build, r.all, r.exitCode);
  }
  const root = await host.tempDir('zdd-doctor-');
  const remove = () => host.remove(root).catch(() => {});
  try {
    // A release-like folder: `release/backend`, so `..` from the app is the release, as in a deploy.
    const releaseDir = path.join(root, 'release');
    const dir = path.join(releaseDir, 'backend');
    const pieces = await stageBackend(config, releaseDir, host);
    if ((await host.stat(path.join(dir, b.script)))?.type !== 'file') {
      throw new StageFailed('copy', `copy ${b.root}`, `backend.script ${b.script} is not in the copy of ${b.root}`, 1);
    }
    const { how, output } = await install(config, installDirIn(releaseDir, config), host, pieces);
    const shared = await linkShared(config, root, dir, host);
    return { dir, how, installOutput: output, before: await snapshot(host, dir, shared), shared, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
