/**
 * Workspaces and package managers for `zdd init`: the lockfile of a package (its own folder, else the
 * nearest folder above it up to the project root, where a workspace keeps it) and the workspace a
 * project declares (npm/yarn `workspaces` in package.json, pnpm-workspace.yaml) with its members.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { installCommand, MANAGER_LOCKFILES, type PackageManager } from '../build/package-manager.js';
import { isDir, isFile } from '../core/fs-checks.js';
import { posix, readPackageJson, readText } from './read.js';
import type { Found, WorkspaceInfo } from './types.js';

export interface Lockfile {
  /** Relative to the project folder. */
  path: string;
  /** Folder of the lockfile, relative to the project folder ("." for the root). */
  dir: string;
  manager: PackageManager;
  yarnBerry: boolean;
}

/** The lockfile of the package in `rel`: there, else the nearest folder above it, up to the project folder. */
export function findLockfile(projectDir: string, rel: string): Lockfile | undefined {
  let dir = posix(rel);
  for (;;) {
    for (const l of MANAGER_LOCKFILES) {
      if (isFile(path.join(projectDir, dir, l.file))) {
        const yarnBerry = l.manager === 'yarn' && isFile(path.join(projectDir, dir, '.yarnrc.yml'));
        return { path: posix(path.posix.join(dir, l.file)), dir, manager: l.manager, yarnBerry };
      }
    }
    if (dir === '.' || dir === '') return undefined;
    dir = path.posix.dirname(dir);
  }
}

/** The install command for the package in `rel`, and why: `from server/package-lock.json`. */
export function installFor(projectDir: string, rel: string, production: boolean): Found<string> & { lockfile?: Lockfile } {
  const lock = findLockfile(projectDir, rel);
  const value = installCommand(lock?.manager, { production, yarnBerry: lock?.yarnBerry });
  return { value, from: lock ? `from ${lock.path}` : 'no lockfile: npm', lockfile: lock };
}

/** `npm run build` / `pnpm run build` / `yarn build`. */
export function runScript(manager: PackageManager | undefined, name: string): string {
  if (manager === 'yarn') return `yarn ${name}`;
  return `${manager ?? 'npm'} run ${name}`;
}

/** The `packages:` list of a pnpm-workspace.yaml (the one key zdd needs; no YAML parser). */
export function pnpmWorkspacePackages(text: string): string[] {
  const out: string[] = [];
  let inPackages = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    if (/^packages\s*:/.test(line)) {
      inPackages = true;
      const inline = /\[(.*)\]/.exec(line);
      if (inline) return inline[1]!.split(',').map(unquote).filter(Boolean);
      continue;
    }
    if (inPackages) {
      const item = /^\s+-\s*(.+?)\s*$/.exec(line);
      if (item) out.push(unquote(item[1]!));
      else if (/^\S/.test(line)) inPackages = false;
    }
  }
  return out.filter(Boolean);
}

function unquote(s: string): string {
  return s.trim().replace(/^['"]|['"]$/g, '');
}

/** Member folders of workspace globs: `apps/*`, `packages/**` (one level), or a plain folder; `!x` excluded. */
export function expandMembers(projectDir: string, globs: string[]): string[] {
  const out = new Set<string>();
  const excluded = globs.filter((g) => g.startsWith('!')).map((g) => posix(g.slice(1)));
  for (const g of globs.filter((x) => !x.startsWith('!'))) {
    const clean = posix(g.replace(/\/+$/, ''));
    const star = /^(.*?)\/\*\*?$/.exec(clean);
    if (star) {
      let names: string[] = [];
      try {
        names = readdirSync(path.join(projectDir, star[1]!));
      } catch {
        /* no such folder */
      }
      for (const n of names.sort()) {
        const rel = posix(path.posix.join(star[1]!, n));
        if (n !== 'node_modules' && isFile(path.join(projectDir, rel, 'package.json'))) out.add(rel);
      }
    } else if (!clean.includes('*') && isFile(path.join(projectDir, clean, 'package.json'))) out.add(clean);
  }
  return [...out].filter((m) => !excluded.includes(m));
}

/** The workspace declared at the project root, if any. */
export function detectWorkspace(projectDir: string): WorkspaceInfo | undefined {
  const lock = findLockfile(projectDir, '.');
  const pnpmYaml = readText(path.join(projectDir, 'pnpm-workspace.yaml'));
  if (pnpmYaml !== undefined) {
    const members = expandMembers(projectDir, pnpmWorkspacePackages(pnpmYaml));
    return { root: '.', kind: 'pnpm', from: 'pnpm-workspace.yaml', members, lockfile: lock?.path, manager: lock?.manager ?? 'pnpm' };
  }
  const ws = readPackageJson(projectDir)?.workspaces;
  const globs = Array.isArray(ws) ? ws : ws && typeof ws === 'object' ? (ws as { packages?: unknown }).packages : undefined;
  if (!Array.isArray(globs)) return undefined;
  const members = expandMembers(
    projectDir,
    globs.filter((g): g is string => typeof g === 'string'),
  );
  const kind = lock?.manager === 'yarn' ? 'yarn' : lock?.manager === 'pnpm' ? 'pnpm' : 'npm';
  return { root: '.', kind, from: 'package.json workspaces', members, lockfile: lock?.path, manager: lock?.manager ?? kind };
}

/** Folders to look for an app in: the workspace's members first, then the usual names that exist. */
export function candidateDirs(projectDir: string, names: string[], ws: WorkspaceInfo | undefined): string[] {
  const fixed = names.filter((n) => n === '.' || isDir(path.join(projectDir, n)));
  if (!ws) return fixed;
  const byName = (m: string) => {
    const i = names.indexOf(path.posix.basename(m));
    return i < 0 ? names.length : i;
  };
  const members = [...ws.members].sort((a, b) => byName(a) - byName(b));
  return [...new Set([...members, ...fixed])];
}
