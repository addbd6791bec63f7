/**
 * Finds, loads and validates the config. Every problem is a ConfigError (exit 2) listing all that is
 * wrong at once, one `path.to.key: what is wrong` line each; nothing is written to disk here (jiti
 * runs without its file cache).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseHostString } from '../core/host-string.js';
import { ConfigError } from '../core/errors.js';
import { brief, formatIssues, formatPath } from './messages.js';
import { configSchema, type ZddConfig } from './schema.js';
import { isDir, isFile } from '../core/fs-checks.js';
import { packagePath } from '../core/package-root.js';
import { backendPathProblems, escapes, sharedProblems } from './path-checks.js';

export const CONFIG_NAMES = ['zdd.config.ts', 'zdd.config.mts', 'zdd.config.js', 'zdd.config.mjs', 'zdd.config.json'];

const MODULE_EXTS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

/** Folders a deploy root may never be (their subfolders are fine). */
export const SYSTEM_DIRS = ['/', '/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/proc', '/root', '/run', '/sbin', '/sys', '/usr', '/var', '/tmp'];

export interface LoadOptions {
  configPath?: string;
  cwd: string;
  /**
   * Check that frontend.root/backend.root exist (default true). Commands that never build (releases,
   * status, rollback, unlock) pass false, so they work on a server without the project's source.
   */
  checkSources?: boolean;
}

export function findConfig(cwd: string): string | undefined {
  for (const name of CONFIG_NAMES) {
    const p = path.join(cwd, name);
    if (isFile(p)) return p;
  }
  return undefined;
}

/** How a file is named in messages: relative to the working folder when inside it. */
function show(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export async function loadConfig(opts: LoadOptions): Promise<ZddConfig> {
  const cwd = path.resolve(opts.cwd);
  const configPath = locate(opts.configPath, cwd);
  const shown = show(configPath, cwd);
  const raw = path.extname(configPath) === '.json' ? readJson(configPath, shown) : await readModule(configPath, shown);

  const projectDir = path.dirname(configPath);
  const parsed = configSchema.safeParse(raw);
  const problems = parsed.success ? [] : formatIssues(parsed.error.issues, raw);
  const flagged = parsed.success ? [] : parsed.error.issues.map((i) => formatPath(i.path));
  problems.push(...semanticProblems(raw as Record<string, unknown>, projectDir, flagged, opts.checkSources !== false));
  sortByFileOrder(problems, raw);
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(problems, {
      hint: `${problems.length === 1 ? 'fix it' : `fix these ${problems.length}`} in ${shown} and run again`,
    });
  }

  const c = parsed.data;
  return {
    ...c,
    frontend: c.frontend && { ...c.frontend, root: path.resolve(projectDir, c.frontend.root) },
    backend: c.backend && {
      ...c.backend,
      root: path.resolve(projectDir, c.backend.root),
      ...(c.backend.workspace ? { workspace: path.resolve(projectDir, c.backend.workspace) } : {}),
    },
    ssh: c.ssh && {
      ...c.ssh,
      identityFile:
        c.ssh.identityFile &&
        (c.ssh.identityFile.startsWith('~/') ? path.join(os.homedir(), c.ssh.identityFile.slice(2)) : path.resolve(projectDir, c.ssh.identityFile)),
    },
    configPath,
    projectDir,
  };
}

/**
 * Problems in the order of the file's top-level keys (then missing keys in schema order), so a
 * key's schema and semantic problems sit together. The sort is stable within a key.
 */
function sortByFileOrder(problems: string[], raw: unknown): void {
  const order = [...(isObj(raw) ? Object.keys(raw) : []), ...Object.keys(configSchema.shape)];
  const rank = (line: string) => {
    const i = order.indexOf(/^[^.:[\s,]+/.exec(line)?.[0] ?? '');
    return i < 0 ? order.length : i;
  };
  problems.sort((a, b) => rank(a) - rank(b));
}

function locate(given: string | undefined, cwd: string): string {
  if (given !== undefined) {
    const abs = path.resolve(cwd, given);
    if (isDir(abs)) {
      const found = findConfig(abs);
      if (found) return found;
      throw new ConfigError(`--config ${given}: no zdd config found in that folder (looked for ${CONFIG_NAMES.join(', ')})`, {
        hint: 'give the config file itself, or run `zdd init` there to write one',
      });
    }
    if (!existsSync(abs)) {
      throw new ConfigError(`--config ${given}: file not found (${abs})`, { hint: 'check the path; it is relative to the working folder' });
    }
    const ext = path.extname(abs);
    if (ext !== '.json' && !MODULE_EXTS.has(ext)) {
      throw new ConfigError(`--config ${given}: unsupported file type "${ext || '(none)'}"`, {
        hint: 'use a .ts, .mts, .js, .mjs or .json config file',
      });
    }
    return abs;
  }
  const found = findConfig(cwd);
  if (!found) {
    throw new ConfigError(`no zdd config found in ${cwd} (looked for ${CONFIG_NAMES.join(', ')})`, {
      hint: 'run `zdd init` to write one',
    });
  }
  return found;
}

/** 1-based line and column of a character offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, col: lines[lines.length - 1]!.length + 1 };
}

/** Character offset of a 1-based line and column. */
function offsetOf(text: string, line: number, col: number): number {
  const lines = text.split('\n').slice(0, line - 1);
  return lines.reduce((n, l) => n + l.length + 1, 0) + col - 1;
}

function readJson(file: string, shown: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${shown}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  if (text.charCodeAt(0) === 0xfeff) text = ` ${text.slice(1)}`; // BOM; keeps offsets
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    // V8 says "at position N" (newer versions add "(line L column C)"); anything else: the end of the file.
    const m = /position (\d+)/.exec(message);
    const lc = /\(line (\d+) column (\d+)\)/.exec(message);
    const offset = m ? Number(m[1]) : lc ? offsetOf(text, Number(lc[1]), Number(lc[2])) : text.length;
    const { line, col } = lc ? { line: Number(lc[1]), col: Number(lc[2]) } : lineCol(text, offset);
    const reason = message
      .replace(/^JSON\.parse: /, '')
      .replace(/,? ?\(line \d+ column \d+\)/, '')
      .replace(/ in JSON at position \d+/, '')
      .replace(/ at position \d+/, '')
      .replace(/^Unexpected end of JSON input$/, 'unexpected end of file')
      .replace(/^"[\s\S]*" is not valid JSON$/, 'not valid JSON');
    const comment = text[offset] === '/' && (text[offset + 1] === '/' || text[offset + 1] === '*');
    throw new ConfigError(`${shown}:${line}:${col}: invalid JSON: ${reason}`, {
      hint: comment
        ? 'JSON allows no comments; remove them or write zdd.config.ts instead'
        : 'fix the JSON syntax there (a missing comma or quote, or a trailing comma)',
      cause: err,
    });
  }
  if (!isObj(data)) {
    throw new ConfigError(`${shown}: expected a config object ({ ... }), got ${brief(data)}`, {
      hint: 'the file must hold one JSON object: { "app": ..., "deployTo": ... }',
    });
  }
  return data;
}

function ownPackageEntry(): string {
  // dist/index.js once built; before that (tests from a fresh checkout), src/index.ts.
  const js = packagePath('dist', 'index.js');
  if (existsSync(js)) return js;
  return packagePath('src', 'index.ts');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `file:line:col` of the config in an error raised while loading it, when the error says. */
function locationIn(err: unknown, file: string, source: string): string | undefined {
  const text = `${(err as Error)?.message ?? ''}\n${(err as Error)?.stack ?? ''}`;
  const parse = /ParseError:/.test(text);
  const re = new RegExp(`${escapeRe(file)}:(\\d+):(\\d+)`);
  const m = re.exec(text) ?? re.exec(text.replaceAll('file://', ''));
  if (!m) return undefined;
  // Babel (jiti's transform) counts columns from 0, V8 stack frames from 1.
  const line = Number(m[1]);
  const col = Number(m[2]) + (parse ? 1 : 0);
  // A frame in jiti's transformed code (not mapped back) points nowhere real: leave it out.
  const lines = source.split('\n');
  if (line < 1 || line > lines.length || col > lines[line - 1]!.length + 1) return undefined;
  return `${line}:${col}`;
}

async function readModule(file: string, shown: string): Promise<unknown> {
  // Loaded only for TS/JS configs: a JSON config does not pay for it.
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, {
    alias: { zdd: ownPackageEntry() },
    fsCache: false,
    moduleCache: false,
    sourceMaps: true,
    interopDefault: false,
  });
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${shown}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') {
    throw new ConfigError(`${shown}: the file is empty (it exports no config)`, { hint: EXPORT_HINT });
  }
  let mod: unknown;
  try {
    mod = await jiti.import(file);
  } catch (err) {
    const where = locationIn(err, file, text);
    const e = err as Error;
    const isParse = /ParseError:|SyntaxError/.test(`${e?.name} ${e?.message}`);
    const what = isParse
      ? `syntax error: ${firstLine(e.message.replace(/^(\w*Error: )+/, ''))}`
      : `failed to load: ${e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${firstLine(e.message)}` : brief(err)}`;
    throw new ConfigError(`${shown}${where ? `:${where}` : ''}: ${what}`, {
      hint: isParse ? 'fix the syntax there' : where ? 'the config threw at the line named above while it was loaded' : 'the config threw while it was loaded',
      cause: err,
    });
  }
  // ESM (a module namespace, or TS/ESM transformed to CommonJS with __esModule) → its default export;
  // plain CommonJS → module.exports itself.
  let value: unknown = mod;
  const isObject = mod !== null && typeof mod === 'object';
  const esm = isObject && ((mod as Record<symbol, unknown>)[Symbol.toStringTag] === 'Module' || (mod as { __esModule?: unknown }).__esModule === true);
  if (esm) {
    if (!('default' in (mod as object))) {
      const names = Object.keys(mod as object);
      throw new ConfigError(`${shown}: exports no config (${names.length > 0 ? `no default export, only ${names.join(', ')}` : 'it exports nothing'})`, {
        hint: EXPORT_HINT,
      });
    }
    value = (mod as { default: unknown }).default;
  }
  try {
    if (value && typeof (value as PromiseLike<unknown>).then === 'function') value = await value;
  } catch (err) {
    throw new ConfigError(`${shown}: the exported promise failed: ${firstLine((err as Error)?.message ?? String(err))}`, { cause: err });
  }
  if (!isObj(value)) {
    const got = value === undefined ? 'undefined' : Array.isArray(value) ? `a list ${brief(value)}` : typeof value === 'function' ? 'a function' : brief(value);
    throw new ConfigError(`${shown}: the default export must be a config object, got ${got}`, { hint: EXPORT_HINT });
  }
  return value;
}

const EXPORT_HINT = "end the file with `export default defineConfig({ app: ..., deployTo: ... })` (import { defineConfig } from 'zdd')";

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? s).trim();
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks beyond the schema's shapes. They run on the raw input even when the schema found problems
 * (so every problem is reported at once), skipping any key the schema already flagged.
 */
/** PM2 runs a script whose path holds a space through `bash -c` (lib/Common.js): it would break, or run what the path says. */
const PM2_SPACE = 'expected a path without spaces: PM2 starts a script whose path has a space through `bash -c`, which breaks it (or runs what the path says)';

function semanticProblems(raw: Record<string, unknown>, projectDir: string, flagged: string[], checkSources: boolean): string[] {
  const out: string[] = [];
  if (!isObj(raw)) {
    if (flagged.length === 0) out.push(`(config): expected an object, got ${brief(raw)}`);
    return out;
  }
  const ok = (key: string) => !flagged.some((f) => f === key || f.startsWith(`${key}.`) || f.startsWith(`${key}[`));

  if (raw.frontend === undefined && raw.backend === undefined) {
    out.push('frontend, backend: at least one of them is required (a frontend, a backend, or both)');
  }

  const deployTo = raw.deployTo;
  if (typeof deployTo === 'string' && deployTo !== '' && ok('deployTo')) {
    if (deployTo.startsWith('~')) {
      out.push(`deployTo: expected an absolute path, got ${brief(deployTo)} (~ is not expanded; write the full path)`);
    } else if (!path.posix.isAbsolute(deployTo)) {
      out.push(`deployTo: expected an absolute path, got ${brief(deployTo)}`);
    } else {
      const n = path.posix.normalize(deployTo).replace(/(.)\/+$/, '$1');
      if (raw.backend !== undefined && /\s/.test(deployTo) && !Array.isArray(raw.hosts)) out.push(`deployTo: ${PM2_SPACE}, got ${brief(deployTo)}`);
      if (SYSTEM_DIRS.includes(n)) {
        const app = typeof raw.app === 'string' && /^[a-z0-9-]+$/.test(raw.app) ? raw.app : '<app>';
        out.push(`deployTo: ${brief(deployTo)} is a system folder; use a folder of its own, e.g. /opt/apps/${app} or /srv/${app}`);
      }
    }
  }

  out.push(...sharedProblems(raw, ok), ...backendPathProblems(raw, projectDir, ok, checkSources));

  for (const part of ['frontend', 'backend'] as const) {
    const section = raw[part];
    if (!isObj(section)) continue;
    const root = section.root === undefined ? part : section.root;
    if (checkSources && typeof root === 'string' && root !== '' && ok(`${part}.root`)) {
      const abs = path.resolve(projectDir, root);
      if (!existsSync(abs)) out.push(`${part}.root: folder not found: ${abs}`);
      else if (!isDir(abs)) out.push(`${part}.root: not a folder: ${abs}`);
    }
  }

  if (isObj(raw.frontend)) {
    const outDir = raw.frontend.outDir;
    if (typeof outDir === 'string' && outDir !== '' && ok('frontend.outDir')) {
      if (path.posix.isAbsolute(outDir) || path.win32.isAbsolute(outDir))
        out.push(`frontend.outDir: expected a path relative to frontend.root, got ${brief(outDir)}`);
      else if (escapes(outDir)) out.push(`frontend.outDir: must stay inside frontend.root, got ${brief(outDir)} (".." leaves it)`);
    }
  }

  if (isObj(raw.backend)) {
    const script = raw.backend.script;
    if (typeof script === 'string' && script !== '' && ok('backend.script')) {
      if (path.posix.isAbsolute(script) || path.win32.isAbsolute(script))
        out.push(`backend.script: expected a path relative to backend.root, got ${brief(script)}`);
      else if (escapes(script)) out.push(`backend.script: must stay inside backend.root, got ${brief(script)} (".." leaves it)`);
    }
  }

  if (Array.isArray(raw.hosts) && ok('hosts')) {
    if (raw.hosts.length === 0) out.push('hosts: expected at least one host (leave hosts out to deploy on this machine)');
    const seen = new Map<string, number>();
    raw.hosts.forEach((h, i) => {
      const key = `hosts[${i}]`;
      if (!ok(key)) return;
      let where: string | undefined;
      if (typeof h === 'string') {
        const t = parseHostString(h);
        if (!t) out.push(`${key}: expected user@host[:port], got ${brief(h)}`);
        else where = `${t.user ?? ''}@${t.host}:${t.port ?? 22}|${typeof raw.deployTo === 'string' ? raw.deployTo : ''}`;
      } else if (isObj(h)) {
        const d = h.deployTo;
        if (typeof d === 'string' && ok(`${key}.deployTo`)) {
          if (!path.posix.isAbsolute(d)) out.push(`${key}.deployTo: expected an absolute path, got ${brief(d)}`);
          else if (SYSTEM_DIRS.includes(path.posix.normalize(d).replace(/(.)\/+$/, '$1'))) out.push(`${key}.deployTo: ${brief(d)} is a system folder`);
          else if (raw.backend !== undefined && /\s/.test(d)) out.push(`${key}.deployTo: ${PM2_SPACE}, got ${brief(d)}`);
        }
        if (typeof h.host === 'string') {
          where = `${h.user ?? ''}@${h.host}:${h.port ?? 22}|${typeof d === 'string' ? d : typeof raw.deployTo === 'string' ? raw.deployTo : ''}`;
        }
      }
      const inherits = typeof h === 'string' || (isObj(h) && h.deployTo === undefined);
      if (inherits && raw.backend !== undefined && typeof raw.deployTo === 'string' && /\s/.test(raw.deployTo))
        out.push(`deployTo: ${PM2_SPACE}, got ${brief(raw.deployTo)}`);
      if (where !== undefined) {
        if (seen.has(where)) out.push(`${key}: the same host and deployTo as hosts[${seen.get(where)}]; each host deploys to its own folder`);
        else seen.set(where, i);
      }
    });
  }
  if (raw.hosts === undefined) {
    if (raw.ssh !== undefined && ok('ssh')) out.push('ssh: only used with hosts; set hosts or remove ssh');
    // rollout.bake applies on one machine too; the rest of rollout is about hosts.
    const rollout = typeof raw.rollout === 'object' && raw.rollout !== null ? Object.keys(raw.rollout).filter((k) => k !== 'bake') : [];
    if (rollout.length && ok('rollout')) out.push(`rollout.${rollout[0]}: only used with hosts; set hosts or remove it`);
  }
  return [...new Set(out)];
}
