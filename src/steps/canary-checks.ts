/**
 * What the canary's boot tells beyond "it answered": files the app writes inside its own release
 * (state that would start empty in every new release unless it lives in <deployTo>/shared), and a
 * native module that failed to load (named, with how to get its install script run).
 */
import path from 'node:path';
import type { FileEntry, Host } from '../host/types.js';

/** Beyond this many files (node_modules aside) the backend is not snapshotted: the check stays cheap. */
export const SNAPSHOT_LIMIT = 5000;

export type Snapshot = Map<string, FileEntry> | undefined;

/** The backend's files without node_modules, or undefined when there are too many to compare cheaply. */
export async function snapshot(host: Host, dir: string): Promise<Snapshot> {
  const files = await host.listFiles(dir, { exclude: ['node_modules'] }).catch(() => undefined);
  if (!files || files.length > SNAPSHOT_LIMIT) return undefined;
  return new Map(files.map((f) => [f.path, f]));
}

/**
 * One warning per top-level name the app wrote under (`data/` -> shared.dirs, a file at the top ->
 * shared.files), in the words of the deploy: what it wrote, why it matters, the config line.
 */
export function writtenState(before: Snapshot, after: Snapshot, sharedDir: string): string[] {
  if (!before || !after) return [];
  const groups = new Map<string, { files: string[]; changed: boolean; dir: boolean }>();
  for (const [p, f] of after) {
    const old = before.get(p);
    if (old && old.size === f.size && old.mtimeMs === f.mtimeMs) continue;
    const [top, ...rest] = p.split('/');
    const g = groups.get(top!) ?? { files: [], changed: false, dir: rest.length > 0 };
    g.files.push(p);
    if (old) g.changed = true;
    groups.set(top!, g);
  }
  return [...groups].map(([top, g]) => {
    const shown = g.files.slice(0, 3).join(', ') + (g.files.length > 3 ? ` and ${g.files.length - 3} more` : '');
    const what = g.changed
      ? `changed ${shown} inside the release while booting: each new release would start from the copy deployed with it`
      : `wrote ${shown} inside the release while booting: it would start empty in every new release`;
    const line = g.dir ? `shared.dirs: ['${top}']` : `shared.files: ['${top}']`;
    return `the app ${what}; keep it in ${sharedDir} with ${line}`;
  });
}

const NATIVE_SIGNS = [
  /Could not locate the bindings file/,
  /was compiled against a different Node\.js version/,
  /Cannot find module '[^']*\/build\/(Release|Debug)\/[^']*\.node'/,
  /invalid ELF header/,
  // dlopen's own words after the file: `invalid ELF header`, `file too short`, `undefined symbol: …`.
  /\.node: \S/,
  /better_sqlite3\.node/,
  /No native build was found for/,
];

/** Packages that find another package's compiled file; the one that failed is the other. */
const LOADERS = new Set(['bindings', 'node-gyp-build', 'prebuild-install', 'node-pre-gyp', '@mapbox/node-pre-gyp']);

/** The package whose native module failed to load, from the paths in the output; undefined when none did. */
export function failedNativeModule(output: string): string | undefined {
  if (!NATIVE_SIGNS.some((re) => re.test(output))) return undefined;
  // The innermost node_modules/<pkg> of each path (a nested dependency names itself last).
  const names = [...output.matchAll(/node_modules\/((?:@[\w.-]+\/)?[\w.-]+)(?=[/'"\s:)]|$)/g)].map((m) => m[1]!);
  const pkgs = names.filter((n) => !LOADERS.has(n));
  const native = /better_sqlite3\.node/.test(output) ? 'better-sqlite3' : undefined;
  return pkgs.find((n) => output.includes(`node_modules/${n}/build/`)) ?? pkgs[0] ?? native ?? 'a native module';
}

/** The hint for a canary that failed on a native module. */
export function nativeHint(pkg: string, backendRoot: string, nodeVersion: string): string {
  const where = path.basename(backendRoot) || backendRoot;
  return (
    `the native module of ${pkg} failed to load: its install script may not have run (npm 11 skips the install scripts a package.json's allowScripts denies, ` +
    `and refuses unapproved ones with strict-allow-scripts: run \`npm install-scripts approve ${pkg}\` in the backend folder (${where}) and commit package.json), ` +
    `or it was built for another Node than the one that runs the app (${nodeVersion}): rebuild it with \`npm rebuild ${pkg}\`. The release was not switched`
  );
}
