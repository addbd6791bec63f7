/**
 * build-backend and install with `backend.include` and `backend.workspace`, on RecordingHosts (the
 * target's upload copies the builder's files, as rsync would): what lands where in the release, what
 * a reused backend carries, the workspace copy and its install; and the backend input hash, on real
 * files, counting the included files.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backendInputs, configInputs, inputsFor } from '../../../src/build/inputs.js';
import type { ZddConfig } from '../../../src/config/schema.js';
import { RecordingHost } from '../../../src/host/recording.js';
import { buildBackend } from '../../../src/steps/build-backend.js';
import { install } from '../../../src/steps/install.js';
import { BACKEND, PROJECT, callsTo, id, planAndRun, put, putDir, seedRelease, stepConfig, stepContext, uploadCopies } from '../../helpers/steps.js';

const BACKEND_ROOT = path.join(PROJECT, 'backend');

function context(config: ZddConfig, previous = false) {
  const builder = new RecordingHost('local');
  const s = stepContext({ config, releaseId: id(2), previousId: previous ? id(1) : undefined, builder });
  uploadCopies(s.host, builder);
  putDir(s.host, path.join(s.paths.releases, id(2)));
  return { ...s, builder, release: path.join(s.paths.releases, id(2)) };
}

describe('backend.include', () => {
  const config = () => stepConfig({ backend: { ...BACKEND, include: ['../package.json', '../docs'] } });

  it('copies each path at its place relative to backend/: ../package.json -> releases/<id>/package.json', async () => {
    const { ctx, host, builder, release } = context(config());
    put(builder, path.join(BACKEND_ROOT, 'server.js'), 'server');
    put(builder, path.join(PROJECT, 'package.json'), '{"version":"1.2.3"}');
    put(builder, path.join(PROJECT, 'docs', 'a.md'), 'a');
    const { plan, note } = await planAndRun(buildBackend, ctx);
    expect(plan.actions).toContain('copy ../package.json, ../docs (backend.include) beside it');
    expect(host.files.get(`${release}/package.json`)).toBe('{"version":"1.2.3"}');
    expect(host.files.get(`${release}/docs/a.md`)).toBe('a');
    expect(host.files.get(`${release}/backend/server.js`)).toBe('server');
    expect(note).toBe('copied (first deploy) (with ../package.json, ../docs)');
  });

  it('a reused backend carries them: hard-linked from the kept release with the backend', async () => {
    const { ctx, host, builder, release } = context(config(), true);
    putDir(builder, BACKEND_ROOT);
    const from = seedRelease(
      host,
      ctx,
      id(1),
      { status: 'ok', inputs: await inputsFor(ctx) },
      { 'backend/server.js': 'server 1', 'package.json': '{"version":"1.0.0"}', 'docs/a.md': 'a1' },
    );
    const { plan } = await planAndRun(buildBackend, ctx);
    expect(plan.summary).toBe(`reuse the backend of ${id(1)}: same inputs`);
    expect(callsTo(host, 'link')).toEqual([[`${from}/package.json`, `${release}/package.json`]]);
    expect(callsTo(host, 'linkTree').map((c) => c[0])).toEqual([`${from}/backend`, `${from}/docs`]);
    expect(host.files.get(`${release}/package.json`)).toBe('{"version":"1.0.0"}');
    expect(host.files.get(`${release}/docs/a.md`)).toBe('a1');
    expect(callsTo(host, 'upload')).toEqual([]);
  });
});

describe('backend.workspace', () => {
  const config = () =>
    stepConfig({ backend: { ...BACKEND, root: 'packages/server', workspace: PROJECT, include: ['../../CHANGELOG.md'] }, shared: { dirs: ['uploads'] } });
  const seedWorkspace = (builder: RecordingHost, lock = 'package-lock.json') => {
    put(builder, path.join(PROJECT, 'package.json'), '{"workspaces":["packages/*"],"devDependencies":{"vite":"8"}}');
    put(builder, path.join(PROJECT, lock), '{}');
    put(builder, path.join(PROJECT, 'CHANGELOG.md'), '# changes');
    put(
      builder,
      path.join(PROJECT, 'packages/server/package.json'),
      '{"name":"@ws/server","dependencies":{"@ws/shared":"*","ms":"2"},"devDependencies":{"@ws/tools":"*"}}',
    );
    put(builder, path.join(PROJECT, 'packages/server/server.js'), 'server');
    put(builder, path.join(PROJECT, 'packages/shared/package.json'), '{"name":"@ws/shared","dependencies":{"@ws/core":"*"}}');
    put(builder, path.join(PROJECT, 'packages/core/package.json'), '{"name":"@ws/core"}');
    put(builder, path.join(PROJECT, 'packages/tools/package.json'), '{"name":"@ws/tools"}');
    put(builder, path.join(PROJECT, 'packages/web/package.json'), '{"name":"@ws/web"}');
  };

  it('the release gets the root files, the member and the members it needs under workspace/; backend/ links to the member', async () => {
    const { ctx, host, builder, release } = context(config());
    seedWorkspace(builder);
    const { note } = await planAndRun(buildBackend, ctx);
    expect(note).toBe('copied (first deploy) (workspace: packages/core, packages/server, packages/shared)');
    expect(callsTo(host, 'upload').map((c) => c[1])).toEqual([
      `${release}/workspace/packages/core`,
      `${release}/workspace/packages/server`,
      `${release}/workspace/packages/shared`,
    ]);
    expect([...host.files.keys()].filter((f) => f.startsWith(`${release}/workspace/`) && !f.includes('/packages/'))).toEqual([
      `${release}/workspace/package.json`,
      `${release}/workspace/package-lock.json`,
      `${release}/workspace/CHANGELOG.md`,
    ]);
    expect(host.links.get(`${release}/backend`)).toBe('workspace/packages/server');
    // Through the link, as PM2 and the canary see it.
    expect(await host.readFile(`${release}/backend/server.js`)).toBe('server');

    const { plan } = await planAndRun(install, ctx);
    expect(plan.summary).toBe('npm ci --omit=dev --workspace packages/server');
    expect(callsTo(host, 'shell')).toEqual([['npm ci --omit=dev --workspace packages/server', expect.objectContaining({ cwd: `${release}/workspace` })]]);
  });

  it('pnpm: the member and its workspace dependencies through --filter; a written backend.install runs as written', async () => {
    const { ctx, host, builder, release } = context(config());
    seedWorkspace(builder, 'pnpm-lock.yaml');
    await planAndRun(buildBackend, ctx);
    await planAndRun(install, ctx);
    expect(callsTo(host, 'shell')[0]).toEqual([
      "pnpm install --prod --frozen-lockfile --filter '{./packages/server}...'",
      expect.objectContaining({ cwd: `${release}/workspace` }),
    ]);

    const own = context(
      stepConfig({ backend: { ...BACKEND, root: 'packages/server', workspace: PROJECT, install: 'npm ci --omit=dev -w packages/server --no-audit' } }),
    );
    seedWorkspace(own.builder);
    await planAndRun(buildBackend, own.ctx);
    await planAndRun(install, own.ctx);
    expect(callsTo(own.host, 'shell')[0]?.[0]).toBe('npm ci --omit=dev -w packages/server --no-audit');
  });

  it('a reused backend hard-links the workspace copy (without node_modules and shared links) and links backend/ again', async () => {
    const { ctx, host, builder, release } = context(config(), true);
    seedWorkspace(builder);
    const inputs = await inputsFor(ctx);
    const from = seedRelease(
      host,
      ctx,
      id(1),
      { status: 'ok', inputs },
      {
        'workspace/package.json': '{}',
        'workspace/package-lock.json': '{}',
        'workspace/CHANGELOG.md': '# old',
        'workspace/packages/server/server.js': 'server 1',
        'workspace/packages/shared/package.json': '{}',
        'workspace/packages/core/package.json': '{}',
      },
    );
    host.links.set(`${from}/backend`, 'workspace/packages/server');
    const { plan } = await planAndRun(buildBackend, ctx);
    expect(plan.summary).toBe(`reuse the backend of ${id(1)}: same inputs`);
    expect(callsTo(host, 'linkTree')).toContainEqual([
      `${from}/workspace/packages/server`,
      `${release}/workspace/packages/server`,
      { exclude: ['node_modules', 'uploads'] },
    ]);
    expect(host.links.get(`${release}/backend`)).toBe('workspace/packages/server');
    expect(await host.readFile(`${release}/backend/server.js`)).toBe('server 1');
    expect(callsTo(host, 'upload')).toEqual([]);
  });
});

describe('the backend input hash', () => {
  const tmp: string[] = [];
  afterAll(() => Promise.all(tmp.map((d) => rm(d, { recursive: true, force: true }))));

  it('counts backend.include files and the workspace members the release copies, not the others', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zdd-inputs-paths-'));
    tmp.push(dir);
    const write = async (rel: string, text: string) => {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    };
    await write('package.json', '{"workspaces":["packages/*"]}');
    await write('CHANGELOG.md', 'v1');
    await write('packages/server/package.json', '{"name":"s","dependencies":{"sh":"*"}}');
    await write('packages/server/server.js', '1');
    await write('packages/shared/package.json', '{"name":"sh"}');
    await write('packages/web/package.json', '{"name":"web"}');
    const c = (o: Record<string, unknown>) => {
      const base = stepConfig({ backend: { ...BACKEND, root: 'packages/server', ...o } });
      return { ...base, projectDir: dir, backend: { ...base.backend!, root: path.join(dir, 'packages/server') } };
    };
    const plain = await backendInputs(c({}), {});
    const withInclude = await backendInputs(c({ include: ['../../CHANGELOG.md'] }), {});
    expect(withInclude).not.toBe(plain);
    await write('CHANGELOG.md', 'v2');
    expect(await backendInputs(c({ include: ['../../CHANGELOG.md'] }), {})).not.toBe(withInclude);
    expect(await backendInputs(c({}), {})).toBe(plain);

    const ws = await backendInputs(c({ workspace: dir }), {});
    await write('packages/web/index.js', 'changed');
    expect(await backendInputs(c({ workspace: dir }), {})).toBe(ws);
    await write('packages/shared/index.js', 'changed');
    expect(await backendInputs(c({ workspace: dir }), {})).not.toBe(ws);
  });

  it('the config hash holds backend.workspace relative to the project, like backend.root', () => {
    const at = (dir: string) => {
      const base = stepConfig({ backend: { ...BACKEND, root: 'packages/server' } });
      return configInputs({ ...base, projectDir: dir, backend: { ...base.backend!, root: path.join(dir, 'packages/server'), workspace: dir } });
    };
    expect(at('/home/a/shop')).toBe(at('/srv/ci/build-7/shop'));
  });
});

describe('one package serving its own build (frontend.outDir inside backend.root)', () => {
  const config = () => stepConfig({ frontend: { root: '.', outDir: 'build' }, backend: { ...BACKEND, root: '.' } });

  it('does not start alongside the frontend build, and backend/build is the release frontend, not the working tree copy', async () => {
    const { ctx, host, builder, release } = context(config());
    put(builder, path.join(PROJECT, 'server.js'), 'server');
    put(builder, path.join(PROJECT, 'build', 'index.html'), 'stale build in the working tree');
    put(host, path.join(release, 'frontend', 'index.html'), 'the release frontend');
    buildBackend.begin?.(ctx);
    expect(ctx.state.backendJob).toBeUndefined();
    const { plan, note } = await planAndRun(buildBackend, ctx);
    expect(plan.actions.join('\n')).toContain("after build-frontend: hard-link the release's frontend into backend/build");
    expect(host.files.get(`${release}/backend/build/index.html`)).toBe('the release frontend');
    expect(host.files.get(`${release}/backend/server.js`)).toBe('server');
    expect(note).toContain("build/ is the release's frontend (1 files hard-linked");
  });

  it('the backend input hash leaves the build output out (it comes from the frontend part)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zdd-served-'));
    try {
      await writeFile(path.join(dir, 'server.js'), 'server');
      const c = { ...config(), backend: { ...config().backend!, root: dir }, frontend: { ...config().frontend!, root: dir } };
      const before = await backendInputs(c, {});
      await mkdir(path.join(dir, 'build'));
      await writeFile(path.join(dir, 'build', 'index.html'), 'built');
      expect(await backendInputs(c, {})).toBe(before);
      await writeFile(path.join(dir, 'server.js'), 'server 2');
      expect(await backendInputs(c, {})).not.toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
