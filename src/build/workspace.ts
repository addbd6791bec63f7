/**
 * A backend that is a member of an npm, yarn or pnpm workspace with one root lockfile. The release
 * holds a pruned copy of the workspace (releases/<id>/workspace/): the root's package.json, lockfile
 * and package-manager config, the backend member and the workspace packages it depends on at run
 * time; releases/<id>/backend is a symlink to the member there, so PM2, the canary, hooks and shared
 * links keep `backend/` as the app's folder while Node (which resolves the real path of the script)
 * finds the workspace's node_modules above it. npm ci and pnpm install --frozen-lockfile accept the
 * missing members (measured with npm 11 and pnpm 9).
 */
import path from 'node:path';
import { backendSchema, type ZddConfig } from '../config/schema.js';
import { type PackageManager, managerOfLockfile, MANAGER_LOCKFILES } from './package-manager.js';

/** What workspace discovery reads: a host (the builder) or this machine's files. */
export interface ProjectReader {
  readFile(p: string): Promise<string | undefined>;
  readdir(p: string): Promise<string[]>;
  stat(p: string): Promise<{ type: string } | undefined>;
}

/** Root files the install needs, copied when present. */
export const WORKSPACE_ROOT_FILES = ['package.json', ...MANAGER_LOCKFILES.map((l) => l.file), '.npmrc', 'pnpm-workspace.yaml', '.yarnrc.yml', '.pnpmfile.cjs'];

/** The folder inside releases/<id>/ that holds the workspace copy. */
export const WORKSPACE_DIR = 'workspace';

export interface WorkspaceLayout {
  /** Absolute workspace root on the builder. */
  root: string;
  /** The backend member, relative to root (posix). */
  member: string;
  /** Members copied into the release, relative to root, sorted (the backend member included). */
  members: string[];
  /** Root files present (names), in WORKSPACE_ROOT_FILES order. */
  files: string[];
  manager?: PackageManager;
}

const posix = (p: string) => p.split(path.sep).join('/');

function parseJson(text: string | undefined): Record<string, any> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

/** The member globs: package.json `workspaces` (a list, or yarn's { packages }), else pnpm-workspace.yaml's `packages:` list. */
async function workspaceGlobs(reader: ProjectReader, root: string): Promise<string[]> {
  const pkg = parseJson(await reader.readFile(path.join(root, 'package.json')));
  const ws = pkg?.workspaces;
  const list = Array.isArray(ws) ? ws : Array.isArray(ws?.packages) ? ws.packages : undefined;
  if (list) return list.filter((g: unknown): g is string => typeof g === 'string');
  const yaml = await reader.readFile(path.join(root, 'pnpm-workspace.yaml'));
  if (yaml === undefined) return [];
  const out: string[] = [];
  let inPackages = false;
  for (const line of yaml.split('\n')) {
    if (/^packages\s*:/.test(line)) inPackages = true;
    else if (/^\S/.test(line)) inPackages = false;
    else if (inPackages) {
      const m = /^\s*-\s*['"]?([^'"#]+?)['"]?\s*(#.*)?$/.exec(line);
      if (m) out.push(m[1]!);
    }
  }
  return out;
}

const wildcard = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** Folders under root matching one glob (`packages/*`, `apps/**`, `tools/cli`), each holding a package.json. */
async function expand(reader: ProjectReader, root: string, glob: string): Promise<string[]> {
  const segs = glob.replace(/^\.\//, '').replace(/\/+$/, '').split('/').filter(Boolean);
  const out: string[] = [];
  const walk = async (rel: string, i: number, depth: number): Promise<void> => {
    if (i === segs.length) {
      if ((await reader.stat(path.join(root, rel, 'package.json')))?.type === 'file') out.push(rel);
      return;
    }
    const seg = segs[i]!;
    if (!seg.includes('*')) return walk(rel ? `${rel}/${seg}` : seg, i + 1, depth);
    const names = await reader.readdir(path.join(root, rel)).catch(() => [] as string[]);
    const dirs: string[] = [];
    for (const n of names) {
      if (n === 'node_modules' || n.startsWith('.')) continue;
      if ((await reader.stat(path.join(root, rel, n)))?.type === 'dir') dirs.push(n);
    }
    if (seg === '**') {
      await walk(rel, i + 1, depth); // ** matches no folder too
      if (depth < 4) for (const n of dirs) await walk(rel ? `${rel}/${n}` : n, i, depth + 1);
      return;
    }
    const re = wildcard(seg);
    for (const n of dirs) if (re.test(n)) await walk(rel ? `${rel}/${n}` : n, i + 1, depth);
  };
  await walk('', 0, 0);
  return out;
}

/** Every workspace package, name -> folder relative to root. */
async function workspacePackages(reader: ProjectReader, root: string): Promise<Map<string, string>> {
  const globs = await workspaceGlobs(reader, root);
  const excluded = new Set<string>();
  const found: string[] = [];
  for (const g of globs) {
    if (g.startsWith('!')) for (const d of await expand(reader, root, g.slice(1))) excluded.add(d);
    else found.push(...(await expand(reader, root, g)));
  }
  const byName = new Map<string, string>();
  for (const rel of found) {
    if (excluded.has(rel)) continue;
    const name = parseJson(await reader.readFile(path.join(root, rel, 'package.json')))?.name;
    if (typeof name === 'string' && !byName.has(name)) byName.set(name, rel);
  }
  return byName;
}

/**
 * The members the backend needs at run time: itself and, transitively, the workspace packages named
 * in `dependencies` or `optionalDependencies` (devDependencies are the build's business).
 */
export async function workspaceLayout(reader: ProjectReader, root: string, memberRoot: string): Promise<WorkspaceLayout> {
  const member = posix(path.relative(root, memberRoot)) || '.';
  const packages = await workspacePackages(reader, root);
  const members = new Set<string>([member]);
  const queue = [member];
  while (queue.length) {
    const rel = queue.shift()!;
    const pkg = parseJson(await reader.readFile(path.join(root, rel, 'package.json')));
    for (const name of Object.keys({ ...pkg?.dependencies, ...pkg?.optionalDependencies })) {
      const dep = packages.get(name);
      if (dep && !members.has(dep)) {
        members.add(dep);
        queue.push(dep);
      }
    }
  }
  const files: string[] = [];
  for (const f of WORKSPACE_ROOT_FILES) if ((await reader.stat(path.join(root, f)))?.type === 'file') files.push(f);
  const lock = files.find((f) => managerOfLockfile(f));
  return { root, member, members: [...members].sort(), files, ...(lock ? { manager: managerOfLockfile(lock)! } : {}) };
}

/** The production install of one member, run in the workspace copy's root. */
export function workspaceInstallCommand(manager: PackageManager | undefined, member: string): string {
  switch (manager) {
    case 'pnpm':
      return `pnpm install --prod --frozen-lockfile --filter '{./${member}}...'`;
    case 'yarn':
      // Yarn 1 installs every member present in the copy, which holds only the ones the backend needs
      // (measured with yarn 1.22: the missing members do not break --frozen-lockfile). Yarn 2+: write backend.install.
      return 'yarn install --frozen-lockfile --production';
    default:
      return `npm ci --omit=dev --workspace ${member}`;
  }
}

const DEFAULT_INSTALL = backendSchema.shape.install.parse(undefined);

/** `backend.install` as it runs: with a workspace and the install left at its default, the member's own. */
export function backendInstallLine(config: ZddConfig, layout: WorkspaceLayout | undefined): string {
  const b = config.backend!;
  if (layout && b.install === DEFAULT_INSTALL) return workspaceInstallCommand(layout.manager, layout.member);
  return b.install;
}

/** Where the install runs in a release, relative to it: the workspace copy's root, or backend/. */
export function installDirIn(releaseDir: string, config: ZddConfig): string {
  return path.join(releaseDir, config.backend?.workspace ? WORKSPACE_DIR : 'backend');
}

/** Every workspace package's folder under `root`, relative to it, sorted ([] when `root` is no workspace). */
export async function workspaceMembers(reader: ProjectReader, root: string): Promise<string[]> {
  return [...(await workspacePackages(reader, root)).values()].sort();
}
