/**
 * The installs a build needs on the build machine (a fresh checkout has no node_modules): the
 * frontend's, and the backend's dev dependencies before `backend.build`. Each runs in the folder of
 * the lockfile nearest the part (a workspace root when it lies above), and is skipped while the hash
 * of what shapes it — lockfile, package.json(s) (a workspace's members too), the command and Node —
 * equals the one written in `<folder>/node_modules/.zdd-install.json` after the last install.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Host } from '../host/types.js';
import { installCommand, MANAGER_LOCKFILES, type PackageManager } from './package-manager.js';
import { workspaceMembers } from './workspace.js';

export const INSTALL_MARKER = path.join('node_modules', '.zdd-install.json');

export interface BuildInstall {
  /** Where the command runs: the lockfile's folder (or the part's own, without a lockfile). */
  dir: string;
  command: string;
  /** The lockfile's name, when there is one. */
  lockfile?: string;
  /** Hash of everything that shapes the install. */
  hash: string;
  /** Why it can be skipped (node_modules up to date), or undefined: it runs. */
  fresh?: string;
}

/** The lockfile in `start` or the nearest folder above it, up to `stop` (the config's folder). */
async function findLockfile(host: Host, start: string, stop: string): Promise<{ dir: string; file: string; manager: PackageManager } | undefined> {
  const within = !path.relative(stop, start).startsWith('..');
  for (let d = path.resolve(start); ; d = path.dirname(d)) {
    for (const l of MANAGER_LOCKFILES) if ((await host.stat(path.join(d, l.file)))?.type === 'file') return { dir: d, file: l.file, manager: l.manager };
    if (!within || d === path.resolve(stop) || path.dirname(d) === d) return undefined;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The install for a part rooted at `start`, or undefined when `setting` is false. `node` is the
 * build machine's Node version (native modules are built for it).
 */
export async function planBuildInstall(
  host: Host,
  o: {
    start: string;
    stop: string;
    setting: string | false | undefined;
    node: string /** --no-cache: install whatever the marker says. */;
    ignoreMarker?: boolean;
  },
): Promise<BuildInstall | undefined> {
  if (o.setting === false) return undefined;
  const start = path.resolve(o.start);
  let lock = await findLockfile(host, start, o.stop);
  let members = lock ? await workspaceMembers(host, lock.dir) : [];
  if (lock && lock.dir !== start && (await host.stat(path.join(start, 'package.json')))?.type === 'file') {
    // A lockfile above a package of its own that is no member of a workspace there does not install it.
    if (!members.some((m) => path.join(lock!.dir, m) === start)) {
      lock = undefined;
      members = [];
    }
  }
  const dir = lock?.dir ?? start;
  const yarnBerry = lock?.manager === 'yarn' && (await host.stat(path.join(dir, '.yarnrc.yml')))?.type === 'file';
  // Without a lockfile, npm would write one into the checkout (and change the part's input hash).
  const command = o.setting ?? (lock ? installCommand(lock.manager, { production: false, yarnBerry }) : 'npm install --no-package-lock');
  // What the install in `dir` reads: its package.json and its members' (not the part's, unless it is one).
  const manifests = new Set([dir, ...members.map((m) => path.join(dir, m))]);
  const parts: Record<string, string | null> = {};
  const read = async (f: string) => {
    const text = await host.readFile(f);
    parts[path.relative(dir, f) || f] = text === undefined ? null : sha256(text);
  };
  if (lock) await read(path.join(dir, lock.file));
  for (const m of [...manifests].sort()) await read(path.join(m, 'package.json'));
  await read(path.join(dir, '.npmrc'));
  const hash = sha256(JSON.stringify({ parts, command, node: o.node }));
  const out: BuildInstall = { dir, command, hash, ...(lock ? { lockfile: lock.file } : {}) };
  const linked = await host.lstat(path.join(dir, 'node_modules'));
  if (linked?.type === 'symlink') {
    // Someone else's node_modules (a linked tree): an install would prune it to this package's needs.
    out.fresh = `node_modules is a symlink (to ${await host.readlink(path.join(dir, 'node_modules'))}): zdd does not install into it`;
    return out;
  }
  const marker = o.ignoreMarker ? undefined : await host.readFile(path.join(dir, INSTALL_MARKER));
  if (marker !== undefined) {
    try {
      const m = JSON.parse(marker) as { hash?: string; at?: string };
      if (m.hash === hash) {
        out.fresh = `node_modules up to date (same ${lock ? `${lock.file}, ` : ''}package.json, command and Node as the install of ${m.at ?? 'before'})`;
      }
    } catch {
      // A marker that does not parse is no marker: install.
    }
  }
  return out;
}

/** Written after a successful install, so the next deploy can skip it. */
export function installMarker(i: BuildInstall, node: string, at: Date): string {
  return `${JSON.stringify({ hash: i.hash, command: i.command, node, at: at.toISOString() }, null, 2)}\n`;
}
