/**
 * Malformed configs through a real process: test/helpers/check-config.mjs loads the config with the
 * built dist/ exactly as `zdd` does, prints each problem on its own line and exits with the
 * ConfigError's exit code. Every case must exit 2, name the offending key (or file), and leave the
 * disk as it was: no deployTo folder, no new file in the project.
 *
 * Needs a build (`npm run build`); it does not build by itself.
 */
import { execa } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listing } from '../helpers/fs.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const checker = join(repoRoot, 'test', 'helpers', 'check-config.mjs');

beforeAll(() => {
  const built = join(repoRoot, 'dist', 'config', 'load.js');
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npm run build` before these tests');
  for (const src of ['load.ts', 'messages.ts', 'schema.ts']) {
    if (statSync(join(repoRoot, 'src', 'config', src)).mtimeMs > statSync(built).mtimeMs + 1000) {
      throw new Error(`dist/ is older than src/config/${src}: run \`npm run build\` before these tests`);
    }
  }
});

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Case {
  name: string;
  /** The config object (written as zdd.config.json unless `file` says otherwise); `DEPLOY` is replaced by the temp deploy root. */
  config?: unknown;
  /** Write this text instead of JSON. */
  text?: string;
  /** Config file name (default zdd.config.json). */
  file?: string;
  /** Arguments (default `--config <file>`). */
  args?: string[];
  /** Skip creating frontend/ and backend/. */
  bare?: boolean;
  /** Each must match a line of the output. */
  expect: RegExp[];
  /** None may appear in the output. */
  never?: string[];
}

const backend = { script: 'server.js', port: 3000 };
const good = { app: 'shop', deployTo: 'DEPLOY', frontend: {}, backend };

const cases: Case[] = [
  { name: 'missing app', config: { deployTo: 'DEPLOY', backend }, expect: [/^app: required$/m] },
  { name: 'app with uppercase', config: { ...good, app: 'MyShop' }, expect: [/^app: expected lowercase letters, digits and "-" only, got "MyShop"$/m] },
  { name: 'deployTo relative', config: { ...good, deployTo: 'apps/shop' }, expect: [/^deployTo: expected an absolute path, got "apps\/shop"$/m] },
  {
    name: 'deployTo with ~',
    config: { ...good, deployTo: '~/apps/shop' },
    expect: [/^deployTo: expected an absolute path, got "~\/apps\/shop" \(~ is not expanded/m],
  },
  {
    name: 'deployTo "/"',
    config: { ...good, deployTo: '/' },
    expect: [/^deployTo: "\/" is a system folder; use a folder of its own, e.g. \/opt\/apps\/shop/m],
  },
  { name: 'deployTo "/etc"', config: { ...good, deployTo: '/etc' }, expect: [/^deployTo: "\/etc" is a system folder/m] },
  { name: 'deployTo "/var/" (trailing slash)', config: { ...good, deployTo: '/var/' }, expect: [/^deployTo: "\/var\/" is a system folder/m] },
  {
    name: 'unknown top-level key deploy_to',
    config: { app: 'shop', deploy_to: 'DEPLOY', backend },
    expect: [/^deploy_to: unknown key \(did you mean "deployTo"\?\)$/m, /^deployTo: required$/m],
  },
  {
    name: 'unknown nested key backend.prot',
    config: { ...good, backend: { script: 'server.js', prot: 3000 } },
    expect: [/^backend\.prot: unknown key \(did you mean "backend\.port"\?\)$/m, /^backend\.port: required$/m],
  },
  { name: 'key at the wrong level (port at the top)', config: { ...good, port: 3000 }, expect: [/^port: unknown key \(did you mean "backend\.port"\?\)$/m] },
  {
    name: 'backend.port "abc"',
    config: { ...good, backend: { ...backend, port: 'abc' } },
    expect: [/^backend\.port: expected an integer from 1 to 65535, got "abc"$/m],
  },
  {
    name: 'backend.port 70000',
    config: { ...good, backend: { ...backend, port: 70000 } },
    expect: [/^backend\.port: expected an integer ≤ 65535, got 70000$/m],
  },
  {
    name: 'backend.instances "many"',
    config: { ...good, backend: { ...backend, instances: 'many' } },
    expect: [/^backend\.instances: expected an integer from 1 to 256 or "max", got "many"$/m],
  },
  { name: 'keepReleases 0', config: { ...good, keepReleases: 0 }, expect: [/^keepReleases: expected an integer ≥ 1, got 0$/m] },
  {
    name: 'healthcheck.path without a leading slash',
    config: { ...good, healthcheck: { path: 'healthz' } },
    expect: [/^healthcheck\.path: expected a path starting with "\/", got "healthz"$/m],
  },
  {
    name: 'shared.files with ../secret',
    config: { ...good, shared: { files: ['.env', '../secret'] } },
    expect: [/^shared\.files\[1\]: must stay inside <deployTo>\/shared, got "\.\.\/secret"/m],
  },
  {
    name: 'shared.dirs absolute',
    config: { ...good, shared: { dirs: ['/var/uploads'] } },
    expect: [/^shared\.dirs\[0\]: expected a path relative to <deployTo>\/shared, got "\/var\/uploads"$/m],
  },
  { name: 'frontend.root missing folder', config: { ...good, frontend: { root: 'web' } }, expect: [/^frontend\.root: folder not found: \/.*\/project\/web$/m] },
  {
    name: 'frontend.outDir escaping',
    config: { ...good, frontend: { outDir: '../public' } },
    expect: [/^frontend\.outDir: must stay inside frontend\.root, got "\.\.\/public"/m],
  },
  {
    name: 'backend.script escaping',
    config: { ...good, backend: { ...backend, script: '../../server.js' } },
    expect: [/^backend\.script: must stay inside backend\.root/m],
  },
  { name: 'neither frontend nor backend', config: { app: 'shop', deployTo: 'DEPLOY' }, expect: [/^frontend, backend: at least one of them is required/m] },
  {
    name: 'hosts: not user@host[:port]',
    config: { ...good, hosts: ['deploy@web1 example.com'] },
    expect: [/^hosts\[0\]: expected user@host\[:port\], got "deploy@web1 example.com"$/m],
  },
  { name: 'hosts: empty', config: { ...good, hosts: [] }, expect: [/^hosts: expected at least one host/m] },
  {
    name: 'hosts: the same host and deployTo twice',
    config: { ...good, hosts: ['deploy@web1.example.com', { host: 'web1.example.com', user: 'deploy' }] },
    expect: [/^hosts\[1\]: the same host and deployTo as hosts\[0\]/m],
  },
  {
    name: 'hosts: a relative per-host deployTo',
    config: { ...good, hosts: [{ host: 'web1', deployTo: 'srv/shop' }] },
    expect: [/^hosts\[0\]\.deployTo: expected an absolute path, got "srv\/shop"$/m],
  },
  {
    name: 'hosts: a per-host deployTo with a space',
    config: { ...good, hosts: [{ host: 'web1', deployTo: '/srv/my shop' }] },
    expect: [/^hosts\[0\]\.deployTo: expected a path without spaces: PM2 starts/m],
  },
  { name: 'ssh without hosts', config: { ...good, ssh: { identityFile: '~/.ssh/id' } }, expect: [/^ssh: only used with hosts; set hosts or remove ssh$/m] },
  {
    name: 'rollout.batch without hosts',
    config: { ...good, rollout: { batch: 2 } },
    expect: [/^rollout\.batch: only used with hosts; set hosts or remove it$/m],
  },
  { name: 'a negative rollout.bake', config: { ...good, rollout: { bake: -1 } }, expect: [/^rollout\.bake: /m] },
  { name: 'a rollout.bake that is not a number', config: { ...good, rollout: { bake: 'ten' } }, expect: [/^rollout\.bake: /m] },
  { name: 'rollout.batch of 0', config: { ...good, hosts: ['web1'], rollout: { batch: 0 } }, expect: [/^rollout\.batch: /m] },
  {
    name: 'backend.env value of the wrong type (value not printed)',
    config: { ...good, backend: { ...backend, env: { API_TOKEN: 987654321 } } },
    expect: [/^backend\.env\.API_TOKEN: expected a string, got an integer$/m],
    never: ['987654321'],
  },
  {
    name: 'broken JSON (line:column named)',
    text: '{\n  "app": "shop",\n  "deployTo": "/opt/apps/shop"\n  "backend": {}\n}\n',
    expect: [/^zdd\.config\.json:4:3: invalid JSON: /m],
  },
  {
    name: 'JSON with a comment',
    text: '{\n  // the app\n  "app": "shop"\n}\n',
    expect: [/^zdd\.config\.json:2:3: invalid JSON: /m, /JSON allows no comments/],
  },
  { name: 'JSON that is not an object', text: '["shop"]\n', expect: [/^zdd\.config\.json: expected a config object/m] },
  {
    name: 'TS config that throws',
    file: 'zdd.config.ts',
    text: "import { defineConfig } from 'zdd';\n\nconst secret: string | undefined = undefined;\nif (!secret) throw new Error('SECRET is not set');\nexport default defineConfig({ app: 'shop', deployTo: '/srv/shop', backend: { script: 'server.js', port: 3000 } });\n",
    expect: [/^zdd\.config\.ts:4:\d+: failed to load: SECRET is not set$/m],
  },
  {
    name: 'TS config with a syntax error',
    file: 'zdd.config.ts',
    text: "export default {\n  app: 'shop',\n  deployTo: '/srv/shop'\n  backend: { script: 'server.js', port: 3000 },\n};\n",
    expect: [/^zdd\.config\.ts:4:3: syntax error: /m],
  },
  {
    name: 'TS config via defineConfig with a typo',
    file: 'zdd.config.ts',
    text: "import { defineConfig } from 'zdd';\nexport default defineConfig({ app: 'shop', deployTo: '/srv/shop', backend: { script: 'server.js', port: 3000, readyTimout: 5000 } } as never);\n",
    expect: [/^backend\.readyTimout: unknown key \(did you mean "backend\.readyTimeout"\?\)$/m],
  },
  {
    name: 'config exporting a non-object',
    file: 'zdd.config.mjs',
    text: 'export default "shop";\n',
    expect: [/^zdd\.config\.mjs: the default export must be a config object, got "shop"$/m],
  },
  {
    name: 'config exporting a function',
    file: 'zdd.config.js',
    text: 'export default () => ({ app: "shop" });\n',
    expect: [/^zdd\.config\.js: the default export must be a config object, got a function$/m],
  },
  {
    name: 'module exporting nothing',
    file: 'zdd.config.mjs',
    text: 'export const config = { app: "shop" };\n',
    expect: [/^zdd\.config\.mjs: exports no config \(no default export, only config\)$/m],
  },
  { name: 'empty TS config', file: 'zdd.config.ts', text: '\n', expect: [/^zdd\.config\.ts: the file is empty/m] },
  {
    name: '--config pointing at a missing file',
    args: ['--config', 'deploy/zdd.config.ts'],
    expect: [/^--config deploy\/zdd\.config\.ts: file not found \(\/.*\/project\/deploy\/zdd\.config\.ts\)$/m],
  },
  {
    name: '--config with an unsupported file type',
    file: 'zdd.config.yaml',
    text: 'app: shop\n',
    expect: [/^--config zdd\.config\.yaml: unsupported file type "\.yaml"$/m],
  },
  {
    name: 'no config at all in an empty folder',
    args: [],
    bare: true,
    expect: [
      /^no zdd config found in \/.*\/project \(looked for zdd\.config\.ts, zdd\.config\.mts, zdd\.config\.js, zdd\.config\.mjs, zdd\.config\.json\)$/m,
      /^hint: run `zdd init` to write one$/m,
    ],
  },
  {
    name: 'several problems at once',
    config: {
      app: 'My Shop',
      deployTo: '/usr',
      keepReleases: 'all',
      frontend: { root: 'web', outDir: '/dist' },
      backend: { port: 0, instances: 'many', script: 'server.js' },
      healthcheck: { path: 'health', timout: 1000 },
      shared: { files: ['/etc/passwd'] },
    },
    expect: [
      /^app: expected lowercase letters, digits and "-" only, got "My Shop"$/m,
      /^deployTo: "\/usr" is a system folder/m,
      /^keepReleases: expected an integer from 1 to 100, got "all"$/m,
      /^frontend\.root: folder not found: /m,
      /^frontend\.outDir: expected a path relative to frontend\.root, got "\/dist"$/m,
      /^backend\.port: expected an integer ≥ 1, got 0$/m,
      /^backend\.instances: /m,
      /^healthcheck\.path: /m,
      /^healthcheck\.timout: unknown key \(did you mean "healthcheck\.timeout"\?\)$/m,
      /^shared\.files\[0\]: expected a path relative to <deployTo>\/shared/m,
      /^hint: fix these 10 in zdd\.config\.json and run again$/m,
    ],
  },
];

describe('malformed configs exit 2, name the key and touch nothing', () => {
  it('has at least 16 distinct cases', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(16);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const root = await mkdtemp(join(tmpdir(), 'zdd-config-cli-'));
      dirs.push(root);
      const dir = join(root, 'project');
      const deployTo = join(root, 'target');
      await mkdir(dir);
      if (!c.bare) {
        await mkdir(join(dir, 'frontend'));
        await mkdir(join(dir, 'backend'));
      }
      const file = c.file ?? 'zdd.config.json';
      if (c.text !== undefined || c.config !== undefined) {
        const text = c.text ?? JSON.stringify(c.config, null, 2).replaceAll('"DEPLOY"', JSON.stringify(deployTo));
        await writeFile(join(dir, file), text);
      }
      const before = listing(root);

      const r = await execa('node', [checker, ...(c.args ?? ['--config', file])], { cwd: dir, reject: false, env: { NO_COLOR: '1', CI: '1' } });
      const output = `${r.stderr}\n${r.stdout}`;

      expect(r.exitCode, output).toBe(2);
      for (const re of c.expect) expect(output).toMatch(re);
      for (const s of c.never ?? []) expect(output).not.toContain(s);
      expect(output).not.toMatch(/unexpected|\bat .*\.js:\d+/); // a message, not a stack trace
      expect(existsSync(deployTo)).toBe(false);
      expect(listing(root)).toEqual(before);
    });
  }

  it('the same configs made valid load fine (the checker itself works)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'zdd-config-cli-'));
    dirs.push(root);
    await mkdir(join(root, 'frontend'));
    await mkdir(join(root, 'backend'));
    await writeFile(
      join(root, 'zdd.config.ts'),
      "import { defineConfig } from 'zdd';\nexport default defineConfig({ app: 'shop', deployTo: '/srv/shop', frontend: {}, backend: { script: 'server.js', port: 3000 } });\n",
    );
    const before = listing(root);
    const r = await execa('node', [checker], { cwd: root, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('ok');
    expect(listing(root)).toEqual(before);
  });
});
