/**
 * The loader on backend.include and backend.workspace: a path that would leave the release (or the
 * workspace copy), land on frontend/ or backend/, or is missing is a ConfigError (exit 2) with one
 * line naming the key; good values load, `workspace` resolved like `root`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, EXIT } from '../../src/core/errors.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function project(files: Record<string, string>): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'zdd-config-paths-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(d, name)), { recursive: true });
    await writeFile(join(d, name), text);
  }
  return d;
}

const SOURCES = {
  'backend/server.js': '',
  'package.json': '{"version":"1.0.0"}',
  'CHANGELOG.md': '# changes',
  'docs/a.md': 'a',
  'frontend/index.html': '',
};

async function load(backend: Record<string, unknown>, files: Record<string, string> = SOURCES) {
  const dir = await project({
    ...files,
    'zdd.config.json': JSON.stringify({ app: 'shop', deployTo: '/opt/apps/shop', backend: { script: 'server.js', port: 3000, ...backend } }),
  });
  return { dir, loaded: loadConfig({ cwd: dir }) };
}

async function problems(backend: Record<string, unknown>, files?: Record<string, string>): Promise<string[]> {
  const err = await (await load(backend, files)).loaded.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).exitCode).toBe(EXIT.usage);
  return (err as ConfigError).problems;
}

describe('backend.include', () => {
  it('files and folders outside backend.root load as written', async () => {
    const { loaded } = await load({ include: ['../package.json', '../CHANGELOG.md', '../docs'] });
    expect((await loaded).backend?.include).toEqual(['../package.json', '../CHANGELOG.md', '../docs']);
  });

  it('a path leaving the release, landing on frontend/ or backend/, absolute or missing: one line each, naming the key', async () => {
    expect(await problems({ include: ['../../secrets.txt'] })).toEqual([
      'backend.include[0]: must stay inside the release folder, got "../../secrets.txt" (releases/<id>/../secrets.txt)',
    ]);
    expect(await problems({ include: ['../frontend/index.html'] })).toEqual([
      'backend.include[0]: would land on the release\'s own frontend/, got "../frontend/index.html"',
    ]);
    expect(await problems({ include: ['./server.js'] })).toEqual([
      'backend.include[0]: expected a path outside backend.root (which the release copies already), got "./server.js"',
    ]);
    expect(await problems({ include: ['..'] })).toEqual(['backend.include[0]: must stay inside the release folder, got ".." (releases/<id>/.)']);
    expect(await problems({ include: ['../release.json'] }, { ...SOURCES, 'release.json': '{}' })).toEqual([
      'backend.include[0]: would land on the release\'s own release.json, got "../release.json"',
    ]);
    expect(await problems({ include: ['/etc/passwd'] })).toEqual(['backend.include[0]: expected a path relative to backend.root, got "/etc/passwd"']);
    const missing = await problems({ include: ['../package.json', '../VERSION'] });
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^backend\.include\[1\]: not found: \/.*\/VERSION$/);
    expect(await problems({ include: 'package.json' })).toEqual([expect.stringMatching(/^backend\.include: /)]);
  });
});

describe('backend.workspace', () => {
  const WS = {
    'package.json': '{"workspaces":["packages/*"]}',
    'package-lock.json': '{}',
    'CHANGELOG.md': '# changes',
    'packages/server/server.js': '',
    'packages/server/package.json': '{"name":"server"}',
  };

  it('resolves against the config folder; includes may reach anywhere inside the workspace', async () => {
    const { dir, loaded } = await load({ root: 'packages/server', workspace: '.', include: ['../../CHANGELOG.md'] }, WS);
    const c = await loaded;
    expect(c.backend?.workspace).toBe(dir);
    expect(c.backend?.root).toBe(join(dir, 'packages', 'server'));
  });

  it('not a workspace root, the member outside it, or an include leaving it: exit 2 naming the key', async () => {
    expect(await problems({ root: 'packages/server', workspace: '.' }, { ...WS, 'package.json': '{}' })).toEqual([
      expect.stringMatching(/^backend\.workspace: .* is no workspace root \(its package\.json has no "workspaces" and there is no pnpm-workspace\.yaml\)$/),
    ]);
    expect(await problems({ root: 'packages/server', workspace: 'packages/server' }, WS)).toEqual([
      expect.stringMatching(/^backend\.workspace: backend\.root \(.*\) must be a member folder inside the workspace root /),
    ]);
    expect(await problems({ root: 'packages/server', workspace: '.', include: ['../../../x'] }, WS)).toEqual([
      'backend.include[0]: must stay inside backend.workspace, got "../../../x" (it would leave the release\'s workspace copy)',
    ]);
  });

  it('pnpm-workspace.yaml makes a workspace root too', async () => {
    const { loaded } = await load(
      { root: 'packages/server', workspace: '.' },
      { ...WS, 'package.json': '{}', 'pnpm-workspace.yaml': 'packages:\n  - packages/*\n' },
    );
    expect((await loaded).backend?.workspace).toBeDefined();
  });
});
