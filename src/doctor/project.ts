/**
 * The checks of the project on this machine: the config loads, and the backend keeps no sessions in
 * the process's memory (every reload would log every user out). They read the working tree only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GlobalOptions } from '../commands/common.js';
import { findConfig, loadConfig } from '../config/load.js';
import type { ZddConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { row, type Check } from './check.js';

export async function checkConfigLoads(
  opts: GlobalOptions,
  cwd: string,
  onSecrets?: (values: string[]) => void,
): Promise<{ check: Check; config?: ZddConfig }> {
  if (!opts.config && !findConfig(cwd)) {
    return { check: row('config', 'fail', `no zdd.config.{ts,mts,js,mjs,json} in ${cwd}`, 'run zdd init') };
  }
  try {
    const config = await loadConfig({ configPath: opts.config, cwd });
    onSecrets?.(Object.values(config.backend?.env ?? {}));
    return { check: row('config', 'ok', `${path.relative(cwd, config.configPath) || config.configPath} (app ${config.app})`), config };
  } catch (err) {
    if (err instanceof ConfigError) {
      const missing = err.problems.some((p) => /not found|no zdd config/i.test(p));
      return {
        check: row(
          'config',
          'fail',
          err.problems.join('; '),
          missing ? 'check --config, or run zdd init' : (err.hint ?? 'fix the keys listed, see the config reference in the README'),
        ),
      };
    }
    return { check: row('config', 'fail', `could not load: ${(err as Error).message}`, 'fix the error in the config file') };
  }
}

/** Source files of the backend (not node_modules, not build output), at most `max`. */
export function backendSources(root: string, max = 400): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (out.length >= max || depth > 6) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'dist' || e.name === 'build' || e.name === 'coverage') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (/\.(c|m)?(j|t)sx?$/.test(e.name) && !/\.d\.ts$/.test(e.name)) out.push(p);
      if (out.length >= max) return;
    }
  };
  walk(root, 0);
  return out;
}

/** Session middlewares whose default store is in the process's memory. */
const MEMORY_SESSION_PACKAGES = ['express-session', '@fastify/session', 'fastify-session'];

/**
 * Warn about sessions kept in memory: every reload replaces the process, so every user is logged
 * out on every deploy (and each PM2 instance has sessions of its own). Reads the backend's
 * package.json dependencies and its source: a session middleware without a `store` option.
 */
export function checkSessionStore(config: ZddConfig): Check {
  const name = 'sessions';
  const b = config.backend;
  if (!b) return row(name, 'ok', 'no backend');
  let deps: Record<string, unknown> = {};
  try {
    deps = (JSON.parse(readFileSync(path.join(b.root, 'package.json'), 'utf8')) as { dependencies?: Record<string, unknown> }).dependencies ?? {};
  } catch {
    /* no package.json: look at the source only */
  }
  const used = MEMORY_SESSION_PACKAGES.filter((p) => p in deps);
  const files = backendSources(b.root);
  const suspects: string[] = [];
  const named = new Set<string>();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const pkg = MEMORY_SESSION_PACKAGES.find((p) => text.includes(`'${p}'`) || text.includes(`"${p}"`));
    if (!pkg) continue;
    named.add(pkg);
    // A `store` option (store: x, or shorthand { store }) that is not a MemoryStore.
    const hasStore = /\bstore\s*[:,}]/.test(text) && !/\bstore\s*:\s*new\s+(session\.)?MemoryStore\b/.test(text);
    if (!hasStore) suspects.push(path.relative(config.projectDir, f));
  }
  const fix = 'give the session middleware a shared store (Redis: connect-redis, PostgreSQL: connect-pg-simple, …) or use signed cookies';
  if (suspects.length) {
    return row(
      name,
      'warn',
      `${[...named].join(', ')} used without a store in ${suspects.slice(0, 3).join(', ')}: sessions live in the process's memory, so every reload logs every user out and each PM2 instance has its own`,
      fix,
    );
  }
  if (used.length && !named.size) return row(name, 'warn', `${used.join(', ')} in dependencies; could not find where it is set up to check its store`, fix);
  if (named.size) return row(name, 'ok', `${[...named].join(', ')} with a store`);
  return row(name, 'ok', 'no in-memory session middleware found');
}
