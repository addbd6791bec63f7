/**
 * Content-addressed deploys: the hashes of each part's inputs (src/build/inputs.ts), LocalHost.linkTree,
 * and the build steps taking a part from a kept release with the same hash. Real files in temp folders.
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ZddConfig } from '../../src/config/schema.js';
import { LocalHost } from '../../src/host/local.js';
import { RecordingHost } from '../../src/host/recording.js';
import { MANIFEST } from '../../src/steps/carry-over.js';
import { backendInputs, computeInputs, configInputs, frontendInputs, hashTree, installInputs, stableJson } from '../../src/build/inputs.js';
import { buildBackend } from '../../src/steps/build-backend.js';
import { buildFrontend } from '../../src/steps/build-frontend.js';
import { install } from '../../src/steps/install.js';
import type { DeployContext } from '../../src/core/types.js';
import { testContext } from '../helpers/context.js';
import { put } from '../helpers/steps.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'zdd-inputs-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function files(dir: string, tree: Record<string, string>) {
  for (const [rel, content] of Object.entries(tree)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
}

function project(
  dir: string,
  over: { frontend?: Record<string, unknown>; backend?: Record<string, unknown>; shared?: Record<string, unknown> } = {},
): ZddConfig {
  return {
    app: 'shop',
    deployTo: path.join(tmp, 'deploy'),
    keepReleases: 5,
    frontend: {
      root: path.join(dir, 'frontend'),
      build: 'npm run build',
      outDir: 'dist',
      carryOver: ['assets'],
      precompress: true,
      precompressMinBytes: 1024,
      ...over.frontend,
    },
    backend: {
      root: path.join(dir, 'backend'),
      install: 'npm ci --omit=dev',
      script: 'server.js',
      port: 3000,
      instances: 2,
      env: {},
      readyTimeout: 1000,
      killTimeout: 1000,
      include: [],
      ...over.backend,
    },
    healthcheck: { path: '/healthz', timeout: 1000 },
    shared: { files: [], dirs: [], ...over.shared },
    hooks: { beforeSwitch: [], afterSwitch: [], afterDeploy: [], onFailure: [] },
    configPath: path.join(dir, 'zdd.config.json'),
    projectDir: dir,
  } as unknown as ZddConfig;
}

const SOURCES = {
  'frontend/index.html': '<html></html>',
  'frontend/src/main.jsx': 'console.log(1)',
  'frontend/src/version.json': '{"version":"v1"}',
  'backend/server.js': 'require("http")',
  'backend/package.json': '{"name":"b"}',
  'backend/package-lock.json': '{"lockfileVersion":3}',
};

describe('hashTree', () => {
  it('is the same for the same files whatever order they were written in', async () => {
    await files(path.join(tmp, 'a'), { 'x/1': 'one', 'x/2': 'two', y: 'why', 'z/z/z': 'zed' });
    await files(path.join(tmp, 'b'), { 'z/z/z': 'zed', y: 'why', 'x/2': 'two', 'x/1': 'one' });
    expect(await hashTree(path.join(tmp, 'a'))).toBe(await hashTree(path.join(tmp, 'b')));
  });

  it('changes with a content, a name, a new file; not with an mtime', async () => {
    const d = path.join(tmp, 'a');
    await files(d, { 'x/1': 'one', y: 'why' });
    const h0 = await hashTree(d);
    await writeFile(path.join(d, 'y'), 'why');
    expect(await hashTree(d)).toBe(h0);
    await writeFile(path.join(d, 'y'), 'why!');
    const h1 = await hashTree(d);
    expect(h1).not.toBe(h0);
    await rm(path.join(d, 'y'));
    await writeFile(path.join(d, 'y2'), 'why!');
    expect(await hashTree(d)).not.toBe(h1);
    await writeFile(path.join(d, 'new'), '');
    expect(await hashTree(d)).not.toBe(h1);
  });

  it('skips node_modules and .git at any depth, and the ignored paths; a symlink counts by its target', async () => {
    const d = path.join(tmp, 'a');
    await files(d, { 'src/a.js': 'a' });
    const h0 = await hashTree(d, ['dist']);
    await files(d, { 'node_modules/x/index.js': 'x', 'src/node_modules/y.js': 'y', '.git/HEAD': 'ref', 'dist/index.html': 'built', 'dist/assets/a.js': 'a' });
    expect(await hashTree(d, ['dist'])).toBe(h0);
    expect(await hashTree(d, ['./dist/'])).toBe(h0);
    expect(await hashTree(d)).not.toBe(h0); // dist counts when not ignored
    await files(d, { 'src/dist/x': 'a nested dist is not the outDir' });
    expect(await hashTree(d, ['dist'])).not.toBe(h0);
    const h1 = await hashTree(d, ['dist']);
    await symlink('../elsewhere', path.join(d, 'link'));
    const h2 = await hashTree(d, ['dist']);
    expect(h2).not.toBe(h1);
    await rm(path.join(d, 'link'));
    await symlink('../other', path.join(d, 'link'));
    expect(await hashTree(d, ['dist'])).not.toBe(h2);
  });

  it('a missing folder hashes as an empty one', async () => {
    await mkdir(path.join(tmp, 'empty'));
    expect(await hashTree(path.join(tmp, 'missing'))).toBe(await hashTree(path.join(tmp, 'empty')));
  });
});

describe('the parts', () => {
  it('frontend: the build command, outDir, precompress and NODE_ENV/VITE_* count; other env and the build output do not', async () => {
    await files(tmp, SOURCES);
    const c = project(tmp);
    const env = { NODE_ENV: 'production', VITE_API: '/api', HOME: '/root' };
    const h = await frontendInputs(c, env);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(await frontendInputs(c, { ...env, HOME: '/elsewhere', PATH: '/bin' })).toBe(h);
    await files(tmp, { 'frontend/dist/index.html': 'built', 'frontend/node_modules/.vite/x': 'cache' });
    expect(await frontendInputs(c, env)).toBe(h);
    expect(await frontendInputs(c, { ...env, VITE_API: '/v2' })).not.toBe(h);
    expect(await frontendInputs(c, { ...env, NODE_ENV: 'development' })).not.toBe(h);
    expect(await frontendInputs(project(tmp, { frontend: { build: 'vite build --mode staging' } }), env)).not.toBe(h);
    expect(await frontendInputs(project(tmp, { frontend: { precompress: false } }), env)).not.toBe(h);
    // Another outDir: the old dist/ is now a source folder like any other.
    expect(await frontendInputs(project(tmp, { frontend: { outDir: 'build' } }), env)).not.toBe(h);
    await files(tmp, { 'frontend/src/version.json': '{"version":"v2"}' });
    expect(await frontendInputs(c, env)).not.toBe(h);
  });

  it('frontend: the nearest lockfile above its root counts (a workspace)', async () => {
    await files(tmp, SOURCES);
    await files(tmp, { 'package-lock.json': '{"a":1}' });
    const c = project(tmp);
    const h = await frontendInputs(c, {});
    await files(tmp, { 'package-lock.json': '{"a":2}' });
    expect(await frontendInputs(c, {})).not.toBe(h);
  });

  it('backend: its files, build, script and shared links count; node_modules and the frontend do not', async () => {
    await files(tmp, SOURCES);
    const c = project(tmp);
    const h = await backendInputs(c, {});
    await files(tmp, { 'backend/node_modules/x/index.js': 'x', 'frontend/src/main.jsx': 'changed' });
    expect(await backendInputs(c, {})).toBe(h);
    expect(await backendInputs(project(tmp, { backend: { build: 'tsc' } }), {})).not.toBe(h);
    expect(await backendInputs(project(tmp, { backend: { script: 'main.js' } }), {})).not.toBe(h);
    expect(await backendInputs(project(tmp, { shared: { files: ['.env'] } }), {})).not.toBe(h);
    await files(tmp, { 'backend/server.js': 'require("https")' });
    expect(await backendInputs(c, {})).not.toBe(h);
  });

  it('install: lockfile, package.json, .npmrc, the install command, Node and npm_config_* count; the sources do not', async () => {
    await files(tmp, SOURCES);
    const c = project(tmp);
    const h = await installInputs(c, {}, 'v20.1.0');
    await files(tmp, { 'backend/server.js': 'changed', 'backend/node_modules/x/index.js': 'x' });
    expect(await installInputs(c, {}, 'v20.1.0')).toBe(h);
    expect(await installInputs(c, {}, 'v22.0.0')).not.toBe(h);
    expect(await installInputs(c, { npm_config_omit: 'dev' }, 'v20.1.0')).not.toBe(h);
    expect(await installInputs(project(tmp, { backend: { install: 'npm ci' } }), {}, 'v20.1.0')).not.toBe(h);
    await files(tmp, { 'backend/.npmrc': 'registry=https://example.test/' });
    const h2 = await installInputs(c, {}, 'v20.1.0');
    expect(h2).not.toBe(h);
    await files(tmp, { 'backend/package-lock.json': '{"lockfileVersion":3,"x":1}' });
    expect(await installInputs(c, {}, 'v20.1.0')).not.toBe(h2);
  });

  it('config: any setting counts, backend.env by its names only, the project folder not at all', async () => {
    await files(path.join(tmp, 'one'), SOURCES);
    await cp(path.join(tmp, 'one'), path.join(tmp, 'two'), { recursive: true });
    const a = project(path.join(tmp, 'one'), { backend: { env: { KEY: 'secret-1' } } });
    const h = configInputs(a);
    expect(configInputs(project(path.join(tmp, 'one'), { backend: { env: { KEY: 'secret-2' } } }))).toBe(h);
    expect(configInputs(project(path.join(tmp, 'one'), { backend: { env: { KEY: 'secret-1', OTHER: 'x' } } }))).not.toBe(h);
    expect(configInputs(project(path.join(tmp, 'one'), { backend: { env: { KEY: 'secret-1' }, instances: 4 } }))).not.toBe(h);
    const b = project(path.join(tmp, 'two'), { backend: { env: { KEY: 'secret-1' } } });
    expect(configInputs(b)).toBe(h);
    // A moved checkout: every part hashes the same.
    expect(await computeInputs(b, { node: 'v20', env: {} })).toEqual(await computeInputs(a, { node: 'v20', env: {} }));
    expect(stableJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });
});

describe('LocalHost.linkTree', () => {
  it('hard-links every file, recreates symlinks and folders, leaves out the excluded paths', async () => {
    const src = path.join(tmp, 'src');
    await files(src, { 'a.js': 'a', 'lib/b.js': 'b', 'node_modules/x/i.js': 'x', 'uploads/u': 'u' });
    await mkdir(path.join(src, 'empty'));
    await symlink('lib/b.js', path.join(src, 'b-link'));
    const r = await new LocalHost().linkTree(src, path.join(tmp, 'dest'), { exclude: ['node_modules', 'uploads'] });
    expect(r).toEqual({ files: 2, copied: 0 });
    const d = path.join(tmp, 'dest');
    expect((await stat(path.join(d, 'lib/b.js'))).ino).toBe((await stat(path.join(src, 'lib/b.js'))).ino);
    expect(await readFile(path.join(d, 'b-link'), 'utf8')).toBe('b');
    expect((await stat(path.join(d, 'empty'))).isDirectory()).toBe(true);
    await expect(stat(path.join(d, 'node_modules'))).rejects.toThrow();
    await expect(stat(path.join(d, 'uploads'))).rejects.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------

function ctxFor(config: ZddConfig, host = new LocalHost(), flags: Partial<DeployContext['flags']> = {}) {
  return testContext({ config, host, flags, previousId: '20261127100000' });
}

describe('build steps reuse a kept release with the same inputs', () => {
  const OLD = '20261127100000';

  /** The project, and a kept ok release `OLD` recorded with this project's inputs. */
  async function setup(status = 'ok') {
    const proj = path.join(tmp, 'p');
    await files(proj, SOURCES);
    const config = project(proj, { shared: { files: ['.env'] }, backend: { install: 'false' } });
    const { ctx } = ctxFor(config);
    const inputs = await computeInputs(config, { node: (await new LocalHost().exec(['node', '--version'])).stdout.trim() });
    const old = path.join(ctx.paths.releases, OLD);
    await files(old, {
      'frontend/index.html': 'own',
      'frontend/assets/own.js': 'own js',
      'frontend/assets/own.js.gz': 'own gz',
      'frontend/assets/carried.js': 'from an older release',
      'backend/server.js': 'old server',
      'backend/node_modules/dep/package.json': '{"name":"dep","version":"1.0.0"}',
      'backend/package.json': '{"name":"b"}',
    });
    await symlink(path.join(ctx.paths.shared, '.env'), path.join(old, 'backend', '.env'));
    await writeFile(
      path.join(old, MANIFEST),
      JSON.stringify({ own: ['assets/own.js', 'assets/own.js.gz'], carried: { 'assets/carried.js': '20261127090000' } }),
    );
    await writeFile(path.join(old, 'release.json'), JSON.stringify({ id: OLD, status, inputs }));
    await mkdir(ctx.release.dir, { recursive: true });
    return { config, ctx, old };
  }
  const ino = async (p: string) => (await stat(p)).ino;

  it('frontend: hard-links its own build output (its .gz too), never what it carried; no build runs', async () => {
    const { ctx, old } = await setup();
    const plan = await buildFrontend.plan(ctx);
    expect(plan.summary).toMatch(new RegExp(`^reuse the frontend of ${OLD}`));
    const note = await buildFrontend.run(ctx, plan);
    expect(note).toMatch(/skipped `npm run build`: same inputs as 20261127100000 \([0-9a-f]{12}\); hard-linked its 3 files/);
    const fe = path.join(ctx.release.dir, 'frontend');
    expect(await ino(path.join(fe, 'assets/own.js'))).toBe(await ino(path.join(old, 'frontend/assets/own.js')));
    expect(await ino(path.join(fe, 'assets/own.js.gz'))).toBe(await ino(path.join(old, 'frontend/assets/own.js.gz')));
    expect(await readFile(path.join(fe, 'index.html'), 'utf8')).toBe('own');
    await expect(stat(path.join(fe, 'assets/carried.js'))).rejects.toThrow();
    await buildBackend.cleanup!(ctx);
    expect(ctx.state.reused).toMatchObject({ frontend: OLD });
  });

  it('backend: hard-links its backend/ without node_modules and the shared links', async () => {
    const { ctx, old } = await setup();
    expect((await buildBackend.plan(ctx)).summary).toMatch(/^reuse the backend of 20261127100000/);
    expect(await buildBackend.run(ctx)).toMatch(/^skipped the copy: same inputs as 20261127100000 .*hard-linked its 2 files/);
    const be = path.join(ctx.release.dir, 'backend');
    expect(await ino(path.join(be, 'server.js'))).toBe(await ino(path.join(old, 'backend/server.js')));
    await expect(stat(path.join(be, 'node_modules'))).rejects.toThrow();
    await expect(readFile(path.join(be, '.env'))).rejects.toThrow();
  });

  it('install: hard-links node_modules and checks them with npm ls; a failing check falls back to the install', async () => {
    const { ctx, old } = await setup();
    await files(ctx.release.dir, { 'backend/package.json': '{"name":"b","dependencies":{"dep":"^1.0.0"}}' });
    expect((await install.plan(ctx)).summary).toMatch(/^reuse node_modules of 20261127100000/);
    const note = await install.run(ctx);
    expect(note).toMatch(/skipped `false`: same inputs as 20261127100000 .*hard-linked its node_modules \(1 files\); `npm ls --omit=dev --depth=0` passed/);
    const nm = path.join(ctx.release.dir, 'backend', 'node_modules', 'dep', 'package.json');
    expect(await ino(nm)).toBe(await ino(path.join(old, 'backend/node_modules/dep/package.json')));

    // The same, with a dependency npm ls does not find: the (failing) install command runs.
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    const again = await setup();
    await files(again.ctx.release.dir, { 'backend/package.json': '{"name":"b","dependencies":{"missing":"^1.0.0"}}' });
    await expect(install.run(again.ctx)).rejects.toThrow(/`false`/);
  });

  it('never reuses with --no-cache, from a failed release, or for other inputs', async () => {
    const { config } = await setup();
    const noCache = ctxFor(config, new LocalHost(), { noCache: true }).ctx;
    expect((await buildFrontend.plan(noCache)).summary).toBe('npm run build');
    expect((await buildBackend.plan(noCache)).summary).toBe('copy the backend');
    expect((await install.plan(noCache)).summary).toBe('false');

    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    const failed = await setup('failed');
    expect((await buildFrontend.plan(failed.ctx)).summary).toBe('npm run build');

    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    const other = await setup();
    await files(path.join(tmp, 'p'), { 'frontend/src/main.jsx': 'changed' });
    const { ctx } = ctxFor(other.config);
    expect((await buildFrontend.plan(ctx)).summary).toBe('npm run build');
    expect((await buildBackend.plan(ctx)).summary).toMatch(/^reuse the backend/);
  });

  it('install scripts in package.json prevent the reuse', async () => {
    const { ctx } = await setup();
    await files(path.join(tmp, 'p'), { 'backend/package.json': '{"name":"b","scripts":{"postinstall":"node gen.js"}}' });
    // The inputs changed with package.json: record them again so only the scripts stand in the way.
    const inputs = await computeInputs(ctx.config, { node: (await new LocalHost().exec(['node', '--version'])).stdout.trim() });
    await writeFile(path.join(ctx.paths.releases, OLD, 'release.json'), JSON.stringify({ id: OLD, status: 'ok', inputs }));
    const fresh = ctxFor(ctx.config).ctx;
    expect((await install.plan(fresh)).summary).toBe('false');
  });

  it('the recording host links trees in memory too', async () => {
    const h = new RecordingHost();
    put(h, '/a/x', '1');
    put(h, '/a/n/y', '2');
    await h.symlink('/shared/.env', '/a/.env');
    expect(await h.linkTree('/a', '/b', { exclude: ['.env'] })).toEqual({ files: 2, copied: 0 });
    expect(h.files.get('/b/n/y')).toBe('2');
    expect(h.links.has('/b/.env')).toBe(false);
  });
});
