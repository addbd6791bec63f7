/**
 * Finds, loads and validates the config. Every problem is a ConfigError (exit 2) and nothing is
 * written to disk here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { configSchema, type ZddConfig } from './schema.js';

export const CONFIG_NAMES = ['zdd.config.ts', 'zdd.config.mts', 'zdd.config.js', 'zdd.config.mjs', 'zdd.config.json'];

export interface LoadOptions {
  configPath?: string;
  cwd: string;
}

export function findConfig(cwd: string): string | undefined {
  for (const name of CONFIG_NAMES) {
    const p = path.join(cwd, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export async function loadConfig(opts: LoadOptions): Promise<ZddConfig> {
  const configPath = opts.configPath ? path.resolve(opts.cwd, opts.configPath) : findConfig(opts.cwd);
  if (!configPath) throw new ConfigError(`no zdd config found in ${opts.cwd}`, { hint: 'run `zdd init` to write one' });
  if (!existsSync(configPath)) throw new ConfigError(`${configPath}: file not found`);
  const raw = JSON.parse(readFileSync(configPath, 'utf8')) as unknown;
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const projectDir = path.dirname(configPath);
  const c = parsed.data;
  return {
    ...c,
    frontend: c.frontend && { ...c.frontend, root: path.resolve(projectDir, c.frontend.root) },
    backend: c.backend && { ...c.backend, root: path.resolve(projectDir, c.backend.root) },
    configPath,
    projectDir,
  };
}
