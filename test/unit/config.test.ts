import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_NAMES, findConfig, loadConfig } from '../../src/config/load.js';
import { brief, closestKey, editDistance, formatPath } from '../../src/config/messages.js';
import { configSchema } from '../../src/config/schema.js';
import { SCHEMA_FILE, buildJsonSchema, schemaText } from '../../src/config/write-schema.js';
import { ConfigError } from '../../src/core/errors.js';
// @ts-expect-error -- a plain .mjs script without type declarations
import { configReference, configRows, extractSection, replaceSection, START, END } from '../../scripts/config-reference.mjs';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A temp project with frontend/ and backend/ folders and the given files. */
async function project(files: Record<string, string> = {}): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'zdd-config-'));
  dirs.push(d);
  await mkdir(join(d, 'frontend'));
  await mkdir(join(d, 'backend'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(d, name)), { recursive: true });
    await writeFile(join(d, name), text);
  }
  return d;
}

const minimal = { app: 'shop', deployTo: '/opt/apps/shop', frontend: {}, backend: { script: 'server.js', port: 3000 } };
const json = (o: unknown) => JSON.stringify(o, null, 2);
const esm = (o: unknown) => `export default ${json(o)};\n`;

async function problemsOf(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills in every default', async () => {
    const dir = await project({ 'zdd.config.json': json(minimal) });
    const c = await loadConfig({ cwd: dir });
    expect(c.keepReleases).toBe(5);
    expect(c.frontend).toEqual({
      root: join(dir, 'frontend'),
      build: 'npx vite build',
      outDir: 'dist',
      carryOver: ['assets'],
      precompress: true,
      precompressMinBytes: 1024,
    });
    expect(c.backend).toEqual({
      root: join(dir, 'backend'),
      install: 'npm ci --omit=dev',
      script: 'server.js',
      port: 3000,
      instances: 'max',
      env: {},
      readyTimeout: 10_000,
      waitReady: true,
      reloadSafe: true,
      killTimeout: 15_000,
      include: [],
    });
    expect(c.healthcheck).toEqual({ path: '/healthz', timeout: 30_000 });
    expect(c.shared).toEqual({ files: [], dirs: [] });
    expect(c.hooks).toEqual({ beforeSwitch: [], afterSwitch: [], afterDeploy: [], onFailure: [] });
    expect(c.nginx).toBeUndefined();
    expect(c.configPath).toBe(join(dir, 'zdd.config.json'));
    expect(c.projectDir).toBe(dir);
  });

  it('discovers zdd.config.ts, .mts, .js, .mjs, .json in that order', async () => {
    const contents: Record<string, string> = {};
    for (const name of CONFIG_NAMES) {
      const app = name.replace('zdd.config.', 'app-');
      contents[name] = name.endsWith('.json') ? json({ ...minimal, app }) : esm({ ...minimal, app });
    }
    const dir = await project(contents);
    for (const name of CONFIG_NAMES) {
      expect(findConfig(dir)).toBe(join(dir, name));
      const c = await loadConfig({ cwd: dir });
      expect(c.app).toBe(name.replace('zdd.config.', 'app-'));
      expect(c.configPath).toBe(join(dir, name));
      await rm(join(dir, name));
    }
    expect(findConfig(dir)).toBeUndefined();
  });

  it('loads a TypeScript config written with defineConfig from "zdd" (no zdd in the project)', async () => {
    const dir = await project({
      'zdd.config.ts': [
        "import { defineConfig } from 'zdd';",
        "import type { Config } from 'zdd';",
        'const port: number = 4000;',
        'const extra: Partial<Config> = { keepReleases: 3 };',
        'export default defineConfig({',
        "  app: 'shop',",
        "  deployTo: '/srv/shop',",
        '  ...extra,',
        "  backend: { script: 'dist/server.js', port, instances: 2 },",
        '});',
        '',
      ].join('\n'),
    });
    const c = await loadConfig({ cwd: dir });
    expect(c).toMatchObject({ app: 'shop', deployTo: '/srv/shop', keepReleases: 3 });
    expect(c.backend).toMatchObject({ port: 4000, instances: 2, script: 'dist/server.js', root: join(dir, 'backend') });
    expect(c.frontend).toBeUndefined();
  });

  it('loads .mjs, .mts, CommonJS module.exports and .json', async () => {
    for (const [name, text] of [
      ['zdd.config.mjs', esm(minimal)],
      ['zdd.config.mts', esm(minimal)],
      ['zdd.config.js', `module.exports = ${json(minimal)};\n`],
      ['zdd.config.json', json(minimal)],
    ] as const) {
      const dir = await project({ [name]: text });
      const c = await loadConfig({ cwd: dir });
      expect(c.app, name).toBe('shop');
      expect(c.backend?.port, name).toBe(3000);
    }
  });

  it('resolves frontend.root and backend.root against the config file folder, not the cwd', async () => {
    const dir = await project({
      'deploy/zdd.config.json': json({ ...minimal, frontend: { root: '../web' }, backend: { ...minimal.backend, root: 'api' } }),
    });
    await mkdir(join(dir, 'web'));
    await mkdir(join(dir, 'deploy', 'api'));
    const c = await loadConfig({ cwd: dir, configPath: 'deploy/zdd.config.json' });
    expect(c.frontend?.root).toBe(join(dir, 'web'));
    expect(c.backend?.root).toBe(join(dir, 'deploy', 'api'));
    expect(c.projectDir).toBe(join(dir, 'deploy'));
    // --config may also name the folder holding the config.
    expect((await loadConfig({ cwd: dir, configPath: 'deploy' })).configPath).toBe(join(dir, 'deploy', 'zdd.config.json'));
  });

  it('accepts subfolders of system folders, and a backend-only or frontend-only project', async () => {
    for (const deployTo of ['/var/www/shop', '/tmp/x', '/opt/apps/shop/']) {
      const dir = await project({ 'zdd.config.json': json({ ...minimal, deployTo }) });
      expect((await loadConfig({ cwd: dir })).deployTo).toBe(deployTo);
    }
    const { frontend: _f, ...backendOnly } = minimal;
    const { backend: _b, ...frontendOnly } = minimal;
    for (const cfg of [backendOnly, frontendOnly]) {
      const dir = await project({ 'zdd.config.json': json(cfg) });
      await expect(loadConfig({ cwd: dir })).resolves.toMatchObject({ app: 'shop' });
    }
  });

  it('reports every problem at once, schema and semantic ones together', async () => {
    const dir = await project({
      'zdd.config.json': json({
        app: 'Shop',
        deployTo: '/etc',
        keepReleases: 0,
        backend: { prot: 3000, script: '../server.js', env: { TOKEN: 12345 } },
        shared: { files: ['../secret'] },
      }),
    });
    const problems = await problemsOf(loadConfig({ cwd: dir }));
    // In the file's key order; a key's schema and semantic problems together.
    expect(problems).toEqual([
      'app: expected lowercase letters, digits and "-" only, got "Shop"',
      'deployTo: "/etc" is a system folder; use a folder of its own, e.g. /opt/apps/<app> or /srv/<app>',
      'keepReleases: expected an integer ≥ 1, got 0',
      'backend.port: required',
      'backend.env.TOKEN: expected a string, got an integer',
      'backend.prot: unknown key (did you mean "backend.port"?)',
      'backend.script: must stay inside backend.root, got "../server.js" (".." leaves it)',
      'shared.files[0]: must stay inside <deployTo>/shared, got "../secret" (".." leaves it)',
    ]);
    // env values are never printed
    expect(problems.join('\n')).not.toContain('12345');
  });

  it('names the file and line of broken JSON', async () => {
    const dir = await project({ 'zdd.config.json': '{\n  "app": "shop",\n  "deployTo": "/srv/shop"\n  "backend": {}\n}\n' });
    const problems = await problemsOf(loadConfig({ cwd: dir }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^zdd\.config\.json:4:3: invalid JSON: /);
  });
});

describe('messages', () => {
  it('suggests the nearest key', () => {
    expect(closestKey('deploy_to', ['app', 'deployTo', 'keepReleases'])).toBe('deployTo');
    expect(closestKey('prot', ['root', 'port', 'script'])).toBe('port');
    expect(closestKey('keepRelease', ['app', 'deployTo', 'keepReleases'])).toBe('keepReleases');
    expect(closestKey('zzz', ['app', 'deployTo'])).toBeUndefined();
    expect(editDistance('prot', 'port')).toBe(1);
  });
  it('formats paths and values briefly', () => {
    expect(formatPath(['backend', 'port'])).toBe('backend.port');
    expect(formatPath(['shared', 'files', 0])).toBe('shared.files[0]');
    expect(formatPath(['backend', 'env', 'MY-VAR'])).toBe('backend.env["MY-VAR"]');
    expect(brief('abc')).toBe('"abc"');
    expect(brief('x'.repeat(100))).toHaveLength(40);
    expect(brief(() => 1)).toBe('a function');
  });
});

describe('JSON Schema', () => {
  it('is generated deterministically and the committed schema/zdd.schema.json is up to date', async () => {
    // Made from the zod schema: a key and its default as the config loader has them.
    const generated = JSON.parse(schemaText()) as { properties: { backend: { properties: Record<string, { type?: string; default?: unknown }> } } };
    expect(generated.properties.backend.properties.reloadSafe).toMatchObject({ type: 'boolean', default: true });
    expect(generated.properties.backend.properties.killTimeout).toMatchObject({ default: 15000 });
    expect(SCHEMA_FILE).toBe(join(repoRoot, 'schema', 'zdd.schema.json'));
    expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(schemaText());
  });
  it('has an $id and title and keeps additionalProperties: false so editors flag typos', () => {
    const s = buildJsonSchema() as {
      $id: string;
      title: string;
      additionalProperties: unknown;
      properties: Record<string, { additionalProperties?: unknown }>;
    };
    expect(s.$id).toMatch(/zdd\.schema\.json$/);
    expect(s.title).toBeTruthy();
    expect(s.additionalProperties).toBe(false);
    for (const k of ['frontend', 'backend', 'healthcheck', 'nginx', 'shared', 'hooks', 'ssh', 'rollout']) {
      expect(s.properties[k]!.additionalProperties, k).toBe(false);
    }
  });
});

/** Keys of a zod object schema, unwrapping optional/default/prefault. */
function zodKeys(schema: unknown, prefix = ''): string[] {
  let s = schema as { _zod: { def: { type: string; innerType?: unknown; shape?: Record<string, unknown>; element?: unknown; options?: unknown[] } } };
  while (s._zod.def.innerType) s = s._zod.def.innerType as typeof s;
  const def = s._zod.def;
  if (def.type === 'array') {
    const el = def.element as typeof s;
    const options = el._zod.def.type === 'union' ? (el._zod.def.options as unknown[]) : [el];
    return options.flatMap((o) => zodKeys(o, prefix.replace(/\.$/, '[].')));
  }
  if (def.type !== 'object' || !def.shape) return [];
  return Object.entries(def.shape).flatMap(([k, v]) => [prefix + k, ...zodKeys(v, `${prefix}${k}.`)]);
}

describe('config reference', () => {
  const table: string = configReference(buildJsonSchema());
  const keys = zodKeys(configSchema);

  it('lists every top-level and nested key, each with a type and a description', () => {
    expect(keys).toEqual(
      expect.arrayContaining(['app', 'deployTo', 'backend.port', 'frontend.outDir', 'hooks.beforeSwitch', 'hosts[].host', 'ssh.options', 'rollout.batch']),
    );
    const rows = configRows(buildJsonSchema()) as { key: string; type: string; default: string; description: string }[];
    expect(rows.map((r) => r.key)).toEqual(keys);
    for (const key of keys) expect(table).toContain(`| \`${key}\` |`);
    for (const r of rows) {
      expect(r.type, r.key).not.toBe('any');
      expect(r.description, r.key).not.toBe('');
    }
  });

  it('shows types, defaults and required keys', () => {
    expect(table).toMatch(/^\| key \| type \| default \| description \|$/m);
    expect(table).toContain('| `backend.port` | `integer 1–65535` | **required** |');
    expect(table).toContain('| `backend.instances` | `integer 1–256 \\| "max"` | `"max"` |');
    expect(table).toContain('| `keepReleases` | `integer 1–100` | `5` |');
    expect(table).toContain('| `healthcheck.path` | `string` | `"/healthz"` |');
  });

  it('replaces and checks the README section between the markers', () => {
    const readme = `# zdd\n\n${START}\nold\n${END}\n\nmore\n`;
    const updated = replaceSection(readme, table);
    expect(extractSection(updated)).toBe(table.trim());
    expect(updated.endsWith(`${END}\n\nmore\n`)).toBe(true);
    expect(extractSection('no markers')).toBeUndefined();
  });
});
