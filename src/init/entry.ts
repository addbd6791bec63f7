/**
 * The backend's entry, from what its package.json says, in this order of trust: the start script
 * (`node ./bin/www`, `PORT=4000 nodemon src/index.js`, `tsx src/server.ts`), `main`, `bin`, then the
 * usual file names. Through a TypeScript build (tsc with tsconfig's outDir/rootDir, esbuild, tsup)
 * a source file maps to the file PM2 runs, and a built file back to its source.
 */
import path from 'node:path';
import { isFile } from '../core/fs-checks.js';
import { posix, readJsonc, readText, SAFE_PATH, type PackageJson } from './read.js';

const RUNNERS = ['node', 'nodemon', 'ts-node', 'ts-node-dev', 'tsx', 'node-dev', 'babel-node', 'pm2-runtime', 'supervisor', 'forever'];
/** Options of those runners that take the next word as their value. */
const OPTION_WITH_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-w',
  '--watch',
  '-e',
  '--ext',
  '--exec',
  '-P',
  '--project',
]);

export interface StartCommand {
  file: string;
  /** `PORT=4000` and such before the runner. */
  env: Record<string, string>;
  runner: string;
}

/**
 * The file a start script runs: `node server.js`, `NODE_ENV=production node --enable-source-maps dist/index.js`,
 * `node ./bin/www` (a file without extension), `cross-env PORT=4000 nodemon src/app.js`. Only the
 * first command of a chain that runs one of the known runners.
 */
export function parseStartScript(start: string): StartCommand | undefined {
  for (const part of start.split(/&&|;|\|\|/)) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    const i = words.findIndex((w) => RUNNERS.includes(w) || RUNNERS.some((r) => w.endsWith(`/${r}`)));
    if (i < 0) continue;
    const env: Record<string, string> = {};
    for (const w of words.slice(0, i)) {
      const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(w);
      if (m) env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
    }
    const rest = words.slice(i + 1);
    if (rest[0] === 'watch' && words[i] === 'tsx') rest.shift();
    for (let j = 0; j < rest.length; j++) {
      const w = rest[j]!;
      if (w.startsWith('-')) {
        if (OPTION_WITH_VALUE.has(w)) j++;
        continue;
      }
      const file = w.replace(/^\.\//, '');
      // Anything that is not plainly a path (a shell expansion, a quote) ends the search.
      return SAFE_PATH.test(file) && file !== '.' ? { file, env, runner: words[i]!.split('/').pop()! } : undefined;
    }
  }
  return undefined;
}

/** The entry file of a start script (kept for callers of the first version). */
export function entryFromStartScript(start: string): string | undefined {
  return parseStartScript(start)?.file;
}

/** The first command of `bin`: a string, or the first value of an object. */
export function binEntry(pkg: PackageJson): string | undefined {
  const b = pkg.bin;
  const v = typeof b === 'string' ? b : b && typeof b === 'object' ? Object.values(b as Record<string, unknown>)[0] : undefined;
  return typeof v === 'string' && SAFE_PATH.test(v.replace(/^\.\//, '')) ? v.replace(/^\.\//, '') : undefined;
}

export const ENTRY_FILES = [
  'server.js',
  'index.js',
  'app.js',
  'main.js',
  'server.mjs',
  'index.mjs',
  'src/index.ts',
  'src/server.ts',
  'src/main.ts',
  'src/app.ts',
  'src/index.js',
  'src/server.js',
];

/** How the build script turns sources into what PM2 runs. */
export type BuildMap =
  | { tool: 'tsc'; outDir: string; rootDir: string; from: string }
  | { tool: 'esbuild' | 'tsup'; entry?: string; outfile?: string; outDir: string; from: string };

/** The tsconfig a `tsc` build uses (`-p x.json`), its outDir and rootDir. */
function tscMap(dir: string, build: string): BuildMap | undefined {
  const p = /(?:-p|--project)\s+(\S+)/.exec(build)?.[1] ?? 'tsconfig.json';
  const file = isFile(path.join(dir, p)) ? p : path.posix.join(p, 'tsconfig.json');
  type TsConfig = { compilerOptions?: { outDir?: unknown; rootDir?: unknown }; include?: unknown; extends?: unknown };
  const cfg = readJsonc(path.join(dir, file)) as TsConfig | undefined;
  // One level of a relative `extends` (tsconfig.base.json) for what this file leaves out; its paths
  // are relative to the base's folder.
  const baseRel = typeof cfg?.extends === 'string' && cfg.extends.startsWith('.') ? posix(path.posix.join(path.posix.dirname(file), cfg.extends)) : undefined;
  const base = baseRel ? (readJsonc(path.join(dir, baseRel.endsWith('.json') ? baseRel : `${baseRel}.json`)) as TsConfig | undefined) : undefined;
  const fromBase = (v: unknown) => (typeof v === 'string' && baseRel ? posix(path.posix.join(path.posix.dirname(baseRel), v)) : undefined);
  const co = {
    outDir: cfg?.compilerOptions?.outDir ?? fromBase(base?.compilerOptions?.outDir),
    rootDir: cfg?.compilerOptions?.rootDir ?? fromBase(base?.compilerOptions?.rootDir),
  };
  const outDir = typeof co.outDir === 'string' ? posix(co.outDir) : '.';
  let rootDir = typeof co.rootDir === 'string' ? posix(co.rootDir) : undefined;
  let from = `${file} outDir ${outDir}`;
  if (rootDir) from += `, rootDir ${rootDir}`;
  else {
    // Without rootDir tsc uses the common folder of its inputs: src/ when everything is under it.
    const include = Array.isArray(cfg?.include) ? (cfg.include as unknown[]).filter((x): x is string => typeof x === 'string') : [];
    rootDir = include.length > 0 && include.every((i) => /^\.?\/?src(\/|$)/.test(i)) ? 'src' : '.';
  }
  return { tool: 'tsc', outDir, rootDir, from };
}

/** What a build script says about its output: tsc, esbuild, tsup. */
export function buildMap(dir: string, build: string | undefined): BuildMap | undefined {
  if (!build) return undefined;
  const es = /\besbuild\s+([^&;|]*)/.exec(build);
  if (es) {
    const args = es[1]!;
    const entry = /(?:^|\s)(?:\.\/)?([\w@./-]+\.(?:c|m)?[jt]sx?)(?=\s|$)/.exec(args)?.[1];
    const outfile = /--outfile[=\s](\S+)/.exec(args)?.[1];
    const outDir = /--outdir[=\s](\S+)/.exec(args)?.[1];
    return {
      tool: 'esbuild',
      entry,
      outfile: outfile && posix(outfile),
      outDir: posix(outDir ?? (outfile ? path.posix.dirname(outfile) : 'dist')),
      from: 'build script (esbuild)',
    };
  }
  const tsup = /\btsup\b([^&;|]*)/.exec(build);
  if (tsup) {
    const args = tsup[1]!;
    let entry = /(?:^|\s)(?:\.\/)?([\w@./-]+\.(?:c|m)?[jt]sx?)(?=\s|$)/.exec(args)?.[1];
    if (!entry) {
      const conf = ['tsup.config.ts', 'tsup.config.js', 'tsup.config.mjs'].map((f) => readText(path.join(dir, f))).find(Boolean);
      entry = conf ? /entry\s*:\s*\[?\s*['"]([^'"]+)['"]/.exec(conf)?.[1] : undefined;
    }
    const outDir = /(?:-d|--out-dir)[=\s](\S+)/.exec(args)?.[1] ?? 'dist';
    return { tool: 'tsup', entry: entry && posix(entry), outDir: posix(outDir), from: 'build script (tsup)' };
  }
  if (/\btsc\b/.test(build)) return tscMap(dir, build);
  return undefined;
}

const TS = /\.(c|m)?tsx?$/;

/** The built file for a source (`src/index.ts` → `dist/index.js`), when the build says. */
export function builtFile(map: BuildMap, source: string): string | undefined {
  if (map.tool === 'tsc') {
    const rel = path.posix.relative(map.rootDir, source);
    if (rel.startsWith('..')) return undefined;
    return posix(
      path.posix.join(
        map.outDir,
        rel.replace(/\.(c|m)?tsx?$/, (_, k: string | undefined) => `.${k ?? ''}js`),
      ),
    );
  }
  if (map.entry && posix(map.entry) !== posix(source)) return undefined;
  if (map.outfile) return map.outfile;
  return posix(path.posix.join(map.outDir, path.posix.basename(source).replace(/\.(c|m)?[jt]sx?$/, '.js')));
}

/** The source of a built file (`dist/index.js` → `src/index.ts`) that exists in `dir`. */
export function sourceOf(dir: string, map: BuildMap | undefined, built: string): string | undefined {
  const tries: string[] = [];
  if (map?.tool === 'tsc') {
    const rel = path.posix.relative(map.outDir, built);
    if (!rel.startsWith('..')) {
      const stem = path.posix.join(map.rootDir, rel).replace(/\.(c|m)?js$/, '');
      for (const e of ['.ts', '.mts', '.cts', '.tsx', '.js']) tries.push(posix(stem + e));
    }
  } else if (map?.entry && (map.outfile ? posix(map.outfile) === posix(built) : true)) tries.push(posix(map.entry));
  // Without a build map: dist/x.js, build/x.js, lib/x.js → src/x.*
  const m = /^(?:dist|build|lib|out)\/(.+)\.(c|m)?js$/.exec(built);
  if (m) for (const e of ['ts', 'mts', 'cts', 'js', 'mjs']) tries.push(`src/${m[1]}.${e}`);
  return tries.find((t) => isFile(path.join(dir, t)));
}

export function isTypeScript(file: string): boolean {
  return TS.test(file);
}
