/**
 * Project detection for `zdd init`: finds a Vite frontend and a Node backend in a project folder by
 * reading package.json files, vite configs and the backend's entry file. Read-only; never runs code
 * from the project.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDir, isFile } from '../core/fs-checks.js';

export const FRONTEND_DIRS = ['frontend', 'client', 'web', 'app', '.'];
export const BACKEND_DIRS = ['backend', 'server', 'api'];
export const VITE_CONFIGS = ['vite.config.ts', 'vite.config.mts', 'vite.config.js', 'vite.config.mjs'];
export const DEFAULT_PORT = 3000;

export interface PackageJson {
  name?: unknown;
  main?: unknown;
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
}

export interface DetectedFrontend {
  /** Relative to the project folder ("." for the root). */
  root: string;
  build: string;
  outDir: string;
  /** Why we think it is a Vite app, and where outDir came from (for printing). */
  reason: string;
  viteConfig?: string;
}

export interface DetectedBackend {
  root: string;
  /** Entry point relative to root. */
  script: string;
  /** Where the entry came from: `main`, `start script`, `file`, or `guess` (nothing found). */
  scriptFrom: 'main' | 'start script' | 'file' | 'guess';
  port: number;
  /** Where the port came from: the file it was read from, or `default`. */
  portFrom: string;
  build?: string;
}

export interface Detection {
  app: string;
  /** Where the app name came from. */
  appFrom: 'package.json' | 'folder';
  frontend?: DetectedFrontend;
  backend?: DetectedBackend;
}

export function readPackageJson(dir: string): PackageJson | undefined {
  const p = path.join(dir, 'package.json');
  if (!existsSync(p)) return undefined;
  try {
    const v = JSON.parse(readFileSync(p, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as PackageJson) : undefined;
  } catch {
    return undefined;
  }
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function hasDep(pkg: PackageJson, name: string): boolean {
  const has = (deps: unknown) => typeof deps === 'object' && deps !== null && Object.hasOwn(deps, name);
  return has(pkg.dependencies) || has(pkg.devDependencies);
}

function script(pkg: PackageJson | undefined, name: string): string | undefined {
  const s = pkg?.scripts?.[name];
  return typeof s === 'string' && s.trim() !== '' ? s : undefined;
}

/** `my App@2` → `my-app-2`; a scope (`@acme/`) is dropped. Empty when nothing usable is left. */
export function sanitizeAppName(name: string): string {
  return name
    .replace(/^@[^/]+\//, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}

/** The `outDir` a vite config plainly states (`outDir: 'build'`), if any. */
export function viteOutDir(configText: string): string | undefined {
  const m = /\boutDir\s*:\s*(['"`])([^'"`\n$]+)\1/.exec(configText);
  return m?.[2]?.trim() || undefined;
}

export function detectFrontend(projectDir: string): DetectedFrontend | undefined {
  for (const rel of FRONTEND_DIRS) {
    const dir = path.join(projectDir, rel);
    if (!isDir(dir)) continue;
    const pkg = readPackageJson(dir);
    const viteConfig = VITE_CONFIGS.find((f) => isFile(path.join(dir, f)));
    const viteDep = pkg !== undefined && hasDep(pkg, 'vite');
    if (!viteDep && !viteConfig) continue;
    // The root only counts with a package.json: a stray vite.config at the top of a monorepo
    // without one is not an app we can build.
    if (rel === '.' && !pkg) continue;
    const outDir = viteConfig ? viteOutDir(readText(path.join(dir, viteConfig)) ?? '') : undefined;
    const reasons = [viteDep ? 'vite in package.json' : undefined, viteConfig].filter(Boolean).join(', ');
    return {
      root: rel,
      build: script(pkg, 'build') ? 'npm run build' : 'npx vite build',
      outDir: outDir ?? 'dist',
      reason: reasons,
      viteConfig,
    };
  }
  return undefined;
}

const SAFE_PATH = /^[A-Za-z0-9_@][A-Za-z0-9_@./-]*$/;

/** The entry file of a start script: `node server.js`, `NODE_ENV=production node --enable-source-maps dist/index.js`. */
export function entryFromStartScript(start: string): string | undefined {
  // Only the first command of a `a && b` chain that runs node.
  for (const part of start.split(/&&|;|\|\|/)) {
    const words = part.trim().split(/\s+/);
    const i = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
    if (i < 0) continue;
    for (const w of words.slice(i + 1)) {
      if (w.startsWith('-')) continue;
      const file = w.replace(/^\.\//, '');
      if (SAFE_PATH.test(file) && /\.(c|m)?js$/.test(file)) return file;
      // `node -r dotenv/config app.js`: an option's value is skipped; anything that is not plainly
      // a path (a shell expansion, a quote) ends the search.
      if (!SAFE_PATH.test(file)) return undefined;
    }
  }
  return undefined;
}

/** A `PORT || 4000` / `PORT ?? '4000'` / `const PORT = 4000` default in source text. */
export function portFromSource(text: string): number | undefined {
  const patterns = [/\bPORT\b[^\n;]{0,60}?(?:\|\||\?\?)\s*['"]?(\d{2,5})\b/, /\b(?:const|let|var)\s+PORT\s*=\s*['"]?(\d{2,5})\b/i];
  for (const re of patterns) {
    const m = re.exec(text);
    if (m) {
      const n = Number(m[1]);
      if (n >= 1 && n <= 65535) return n;
    }
  }
  return undefined;
}

/** Source files worth reading for an entry: the entry, and for a built entry (dist/x.js) its source (src/x.ts). Only existing ones. */
export function entrySources(backendDir: string, script: string): string[] {
  const out = [script];
  const m = /^(?:dist|build|lib|out)\/(.+)\.(c|m)?js$/.exec(script);
  if (m) for (const ext of ['ts', 'mts', 'cts', 'js', 'mjs']) out.push(`src/${m[1]}.${ext}`);
  return out.filter((f) => isFile(path.join(backendDir, f)));
}

export function detectBackend(projectDir: string): DetectedBackend | undefined {
  for (const rel of BACKEND_DIRS) {
    const dir = path.join(projectDir, rel);
    const pkg = readPackageJson(dir);
    if (!pkg) continue;

    let entry: string | undefined;
    let scriptFrom: DetectedBackend['scriptFrom'] = 'guess';
    if (typeof pkg.main === 'string' && SAFE_PATH.test(pkg.main.replace(/^\.\//, ''))) {
      entry = pkg.main.replace(/^\.\//, '');
      scriptFrom = 'main';
    }
    const start = script(pkg, 'start');
    if (!entry && start) {
      entry = entryFromStartScript(start);
      if (entry) scriptFrom = 'start script';
    }
    if (!entry) {
      entry = ['server.js', 'index.js', 'app.js'].find((f) => isFile(path.join(dir, f)));
      if (entry) scriptFrom = 'file';
    }
    if (!entry) entry = 'server.js';

    let port: number | undefined;
    let portFrom = 'default';
    for (const f of entrySources(dir, entry)) {
      port = portFromSource(readText(path.join(dir, f)) ?? '');
      if (port !== undefined) {
        portFrom = path.posix.join(rel, f);
        break;
      }
    }

    return {
      root: rel,
      script: entry,
      scriptFrom,
      port: port ?? DEFAULT_PORT,
      portFrom,
      build: script(pkg, 'build') ? 'npm run build' : undefined,
    };
  }
  return undefined;
}

export function detectProject(projectDir: string): Detection {
  const rootPkg = readPackageJson(projectDir);
  const fromPkg = typeof rootPkg?.name === 'string' ? sanitizeAppName(rootPkg.name) : '';
  const fromFolder = sanitizeAppName(path.basename(path.resolve(projectDir)));
  return {
    app: fromPkg || fromFolder || 'app',
    appFrom: fromPkg ? 'package.json' : 'folder',
    frontend: detectFrontend(projectDir),
    backend: detectBackend(projectDir),
  };
}

/**
 * A tiny template renderer: `{{key}}` is replaced by `values[key]`; lines between `{{#flag}}` and
 * `{{/flag}}` are kept only when `flags[flag]` is true, between `{{^flag}}` and `{{/flag}}` only when
 * false (the marker lines themselves are dropped). An unknown key is an error, never left in the output.
 */
export function renderTemplate(template: string, values: Record<string, string>, flags: Record<string, boolean> = {}): string {
  const out: string[] = [];
  const stack: { name: string; keep: boolean }[] = [];
  for (const line of template.split('\n')) {
    const open = /\{\{([#^])(\w+)\}\}/.exec(line);
    const close = /\{\{\/(\w+)\}\}/.exec(line);
    if (open) {
      const [, kind, name] = open as unknown as [string, string, string];
      if (!(name in flags)) throw new Error(`template: unknown section ${name}`);
      stack.push({ name, keep: kind === '#' ? flags[name]! : !flags[name] });
      continue;
    }
    if (close) {
      const top = stack.pop();
      if (!top || top.name !== close[1]) throw new Error(`template: unbalanced section ${close[1]}`);
      continue;
    }
    if (stack.some((s) => !s.keep)) continue;
    out.push(
      line.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
        const v = values[key];
        if (v === undefined) throw new Error(`template: no value for {{${key}}}`);
        return v;
      }),
    );
  }
  if (stack.length) throw new Error(`template: section ${stack[stack.length - 1]!.name} not closed`);
  return out.join('\n');
}
