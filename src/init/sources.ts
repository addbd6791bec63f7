/**
 * The backend's source files `zdd init` reads for routes, ports and paths: the entry, the files it
 * requires or imports relatively (transitively), and the routes/ folders. Bounded (≤ 200 files, no
 * node_modules), so a large app costs no more than a glance.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { isDir, isFile } from '../core/fs-checks.js';
import { posix, readText } from './read.js';

export const MAX_SOURCES = 200;
const EXTS = ['', '.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.json'];
const ROUTE_DIRS = ['routes', 'src/routes', 'routers', 'src/routers', 'src/api', 'controllers', 'src/controllers'];
const SOURCE = /\.(c|m)?(j|t)sx?$/;

/** Relative specifiers a file requires or imports: `require('./x')`, `import … from '../y'`, `import('./z')`. */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /\brequire\s*\(\s*(['"`])(\.{1,2}\/[^'"`]*|\.\.?)\1\s*\)|\bfrom\s+(['"])(\.{1,2}\/[^'"]*|\.\.?)\3|\bimport\s*(?:\(\s*)?(['"])(\.{1,2}\/[^'"]*)\5/g;
  for (const m of text.matchAll(re)) out.push((m[2] ?? m[4] ?? m[6])!);
  return out;
}

/**
 * The file a specifier names, relative to `rootAbs` (may start with `../` when it leaves the root).
 * `./app` → app.js; `./routes` → routes/index.js; a TypeScript `./x.js` → x.ts.
 */
export function resolveSpecifier(rootAbs: string, fromRel: string, spec: string): string | undefined {
  const base = path.join(rootAbs, path.dirname(fromRel), spec);
  const tries = [...EXTS.map((e) => base + e), ...EXTS.slice(1).map((e) => path.join(base, `index${e}`))];
  if (/\.(c|m)?js$/.test(spec)) tries.push(base.replace(/\.(c|m)?js$/, '.$1ts'), base.replace(/\.js$/, '.tsx'));
  const hit = tries.find((t) => isFile(t));
  return hit === undefined ? undefined : posix(path.relative(rootAbs, hit));
}

function listSources(rootAbs: string, dir: string, out: string[], max: number, depth = 0): void {
  if (depth > 4 || out.length >= max) return;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(path.join(rootAbs, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (out.length >= max) return;
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const rel = posix(path.posix.join(dir, e.name));
    if (e.isDirectory()) listSources(rootAbs, rel, out, max, depth + 1);
    else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
}

export interface SourceSet {
  /** Files inside the root, relative to it, entries first. */
  files: string[];
  /** Who imports whom (file → the files it imports inside the root). */
  imports: Map<string, string[]>;
  /** Relative imports that leave the root: `{ from: 'index.js', path: '../package.json' }`. */
  outside: { from: string; path: string; line: number }[];
}

/** The entry files and everything they import relatively, then the route folders; at most `max` files. */
export function collectSources(rootAbs: string, entries: string[], max = MAX_SOURCES): SourceSet {
  const files: string[] = [];
  const imports = new Map<string, string[]>();
  const outside: SourceSet['outside'] = [];
  const queue = entries.filter((e) => isFile(path.join(rootAbs, e)));
  const seen = new Set<string>();
  const routeFiles: string[] = [];
  for (const d of ROUTE_DIRS) if (isDir(path.join(rootAbs, d))) listSources(rootAbs, d, routeFiles, max);
  const visit = (f: string) => {
    if (seen.has(f) || files.length >= max || f.includes('node_modules/')) return;
    seen.add(f);
    files.push(f);
    const text = readText(path.join(rootAbs, f)) ?? '';
    if (!SOURCE.test(f) && !/^[^.]+$/.test(path.posix.basename(f))) return;
    const mine: string[] = [];
    for (const spec of relativeImports(text)) {
      const hit = resolveSpecifier(rootAbs, f, spec);
      if (hit === undefined) continue;
      if (hit.startsWith('../')) {
        const line = text.slice(0, text.indexOf(spec)).split('\n').length;
        outside.push({ from: f, path: hit, line });
      } else if (!hit.endsWith('.json')) {
        mine.push(hit);
        queue.push(hit);
      }
    }
    imports.set(f, mine);
  };
  while (queue.length && files.length < max) visit(queue.shift()!);
  for (const f of routeFiles) {
    if (!seen.has(f) && files.length < max) {
      queue.push(f);
      while (queue.length && files.length < max) visit(queue.shift()!);
    }
  }
  return { files, imports, outside };
}

/** Does this source start a server (`.listen(`, `createServer(`, `serve(`)? */
export function listens(text: string): boolean {
  return /\.listen\s*\(|\bcreateServer\s*\(|\bserve\s*\(|\bBun\.serve\b|\bstartStandaloneServer\s*\(/.test(text);
}
