import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join, relative, isAbsolute } from 'node:path';
import { repoRoot } from './pm2.js';

/** examples/shop in this repository. */
export const exampleDir = join(repoRoot, 'examples', 'shop');

/**
 * A fresh temp folder under `<repo>/.tmp/` (git-ignored). Inside the repository, so a copied
 * frontend resolves vite/react from the root node_modules like the original does.
 */
export async function makeTempDir(prefix = 'zdd-'): Promise<string> {
  const parent = join(repoRoot, '.tmp');
  await mkdir(parent, { recursive: true });
  return mkdtemp(join(parent, prefix));
}

/** Removes a folder made by makeTempDir (or anything else). Never throws. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => {});
}

export type Json = Record<string, unknown>;

export interface CopyExampleOptions {
  /** Written to frontend/src/version.json and backend/version.json. */
  version: string;
  /** zdd.config.json `deployTo`. */
  deployTo?: string;
  /** zdd.config.json `backend.port`. */
  backendPort?: number;
  /** zdd.config.json `nginx` (test/reload command lines, e.g. from startNginx()). */
  nginx?: { test?: string; reload?: string };
  /** Merged into zdd.config.json `backend.env`. */
  env?: Record<string, string>;
  /** Any other partial config, deep-merged last (objects merge, arrays and scalars replace). */
  config?: Json;
}

export interface CopiedExample {
  dir: string;
  configPath: string;
  config: Json;
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge recursively; arrays, scalars and null replace. `undefined` is skipped. */
export function deepMerge(base: Json, override: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  }
  return out;
}

/**
 * Copies examples/shop (without node_modules and dist) to `dest` (created if needed), sets the
 * version, and writes `dest/zdd.config.json` (the example's config without `$schema`, plus overrides).
 * If `dest` is outside the repository, `frontend/node_modules` is symlinked to the root node_modules
 * so `npm run build` still finds vite and react.
 */
export async function copyExample(dest: string, opts: CopyExampleOptions): Promise<CopiedExample> {
  await mkdir(dest, { recursive: true });
  await cp(exampleDir, dest, {
    recursive: true,
    filter: (src) => {
      const name = basename(src);
      return name !== 'node_modules' && !(name === 'dist' && src.startsWith(join(exampleDir, 'frontend')));
    },
  });

  const rel = relative(repoRoot, dest);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    await symlink(join(repoRoot, 'node_modules'), join(dest, 'frontend', 'node_modules'), 'dir');
  }

  await setVersion(dest, opts.version);

  const base = JSON.parse(await readFile(join(exampleDir, 'zdd.config.json'), 'utf8')) as Json;
  delete base.$schema;
  let config = base;
  const direct: Json = {};
  if (opts.deployTo !== undefined) direct.deployTo = opts.deployTo;
  if (opts.backendPort !== undefined || opts.env !== undefined) {
    direct.backend = { port: opts.backendPort, env: opts.env };
  }
  if (opts.nginx !== undefined) direct.nginx = { ...opts.nginx };
  // The bake adds rollout.bake seconds to every deploy and rollback: off unless a test is about it.
  direct.rollout = { bake: 0 };
  config = deepMerge(config, direct);
  if (opts.config) config = deepMerge(config, opts.config);
  delete config.$schema;

  const configPath = join(dest, 'zdd.config.json');
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { dir: dest, configPath, config };
}

/** Writes `{"version": version}` to frontend/src/version.json and backend/version.json. */
export async function setVersion(dir: string, version: string): Promise<void> {
  const json = `${JSON.stringify({ version }, null, 2)}\n`;
  await writeFile(join(dir, 'frontend', 'src', 'version.json'), json);
  await writeFile(join(dir, 'backend', 'version.json'), json);
}

async function patchServer(dir: string, search: string, replacement: string, what: string): Promise<void> {
  const file = join(dir, 'backend', 'server.js');
  const src = await readFile(file, 'utf8');
  if (!src.includes(search)) throw new Error(`${what}: marker ${JSON.stringify(search)} not found in ${file}`);
  await writeFile(file, src.replace(search, replacement));
}

/** Makes backend/server.js throw as soon as it starts (before listening). */
export async function breakBackendAtBoot(dir: string): Promise<void> {
  await patchServer(dir, "'use strict';", "'use strict';\nthrow new Error('zdd test: backend broken at boot');", 'breakBackendAtBoot');
}

/** Makes GET /healthz answer 500 (the rest of the API keeps working). */
export async function breakHealthcheck(dir: string): Promise<void> {
  await patchServer(dir, "case '/healthz':", "case '/healthz':\n      return send(res, 500, 'zdd test: healthcheck broken');", 'breakHealthcheck');
}

/** The health check answers 500 in a PM2 worker only (NODE_APP_INSTANCE is set there): the canary passes, verify fails. */
export async function breakHealthcheckUnderPm2(dir: string): Promise<void> {
  await patchServer(
    dir,
    "case '/healthz':",
    "case '/healthz':\n      if (process.env.NODE_APP_INSTANCE !== undefined) return send(res, 500, 'zdd test: healthcheck broken under PM2');",
    'breakHealthcheckUnderPm2',
  );
}
