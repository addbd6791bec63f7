/**
 * The build part of a deploy on RecordingHosts, a builder (the machine zdd runs on) and a target:
 * build-frontend, build-backend (alone, and begun alongside build-frontend), carry-over and install.
 * Builds and installs are command lines the hosts record (nothing runs); the target's `upload` copies
 * the builder's in-memory files, as rsync would. Reuse is set up the way a deploy finds it: a kept
 * `ok` release whose release.json holds this run's input hashes.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputsFor } from '../../../src/build/inputs.js';
import { StepFailed } from '../../../src/core/errors.js';
import type { DeployContext } from '../../../src/core/types.js';
import { RecordingHost } from '../../../src/host/recording.js';
import type { ExecOptions } from '../../../src/host/types.js';
import { buildBackend } from '../../../src/steps/build-backend.js';
import { buildFrontend } from '../../../src/steps/build-frontend.js';
import { MANIFEST, carryOver } from '../../../src/steps/carry-over.js';
import { VERIFY_INSTALL, install } from '../../../src/steps/install.js';
import {
  BACKEND,
  PROJECT,
  callsTo,
  id,
  mutations,
  planAndRun,
  put,
  putDir,
  readJson,
  seedRelease,
  stepConfig,
  stepContext,
  uploadCopies,
} from '../../helpers/steps.js';

const FRONTEND_ROOT = path.join(PROJECT, 'frontend');
const OUT_DIR = path.join(FRONTEND_ROOT, 'dist');
const BACKEND_ROOT = path.join(PROJECT, 'backend');
const BIG_JS = `export const app = ${JSON.stringify('x'.repeat(4000))};\n`;

/** A deploy of release 2 (release 1 current, when `previous`) with a builder of its own. */
function buildContext(config = stepConfig({ frontend: { build: 'npm run build' }, backend: { ...BACKEND, build: 'npm run build:server' } }), previous = false) {
  const builder = new RecordingHost('local');
  const s = stepContext({ config, releaseId: id(2), previousId: previous ? id(1) : undefined, builder });
  uploadCopies(s.host, builder);
  putDir(s.host, path.join(s.paths.releases, id(2)));
  return { ...s, builder, release: path.join(s.paths.releases, id(2)) };
}

/** Release 1, kept and ok, made from the same inputs as this run (so its parts can be reused). */
async function keptWithSameInputs(host: RecordingHost, ctx: DeployContext, files: Record<string, string>) {
  const inputs = await inputsFor(ctx);
  expect(inputs?.frontend ?? inputs?.backend).toBeDefined();
  return seedRelease(host, ctx, id(1), { status: 'ok', inputs }, files);
}

describe('build-frontend', () => {
  it('runs frontend.build on the builder, copies outDir into releases/<id>/frontend and precompresses there', async () => {
    const { ctx, host, builder, release } = buildContext();
    put(builder, path.join(OUT_DIR, 'index.html'), '<html>');
    put(builder, path.join(OUT_DIR, 'assets', 'app-1.js'), BIG_JS);
    const { plan, note } = await planAndRun(buildFrontend, ctx);
    expect(plan.summary).toBe('npm run build');
    expect(plan.actions?.slice(0, 2)).toEqual(['run `npm run build` in /home/dev/zdd-step-test/shop/frontend', `copy ${OUT_DIR} -> ${release}/frontend`]);
    expect(callsTo(builder, 'shell')).toEqual([['npm run build', expect.objectContaining({ cwd: FRONTEND_ROOT })]]);
    const dest = path.join(release, 'frontend');
    expect(callsTo(host, 'upload')).toEqual([[OUT_DIR, dest, undefined]]);
    expect(host.files.get(path.join(dest, 'index.html'))).toBe('<html>');
    expect(
      mutations(host)
        .filter((m) => m.startsWith('writeBytes'))
        .sort(),
    ).toEqual([`writeBytes ${dest}/assets/app-1.js.br`, `writeBytes ${dest}/assets/app-1.js.gz`]);
    expect(note).toMatch(/^built \(first deploy\); precompressed 1 file \(1 \.gz \+ 1 \.br; gzip \d+% smaller\)$/);
    expect(host.commands()).toEqual(['node --version']);
  });

  it('fails when the build leaves no index.html in outDir, copying nothing', async () => {
    const { ctx, host } = buildContext();
    const err = await planAndRun(buildFrontend, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toBe(`${OUT_DIR} has no index.html after \`npm run build\``);
    expect(callsTo(host, 'upload')).toEqual([]);
  });

  it('same inputs as a kept release: hard-links its own build output (not what it carried), no build', async () => {
    const { ctx, host, builder, release } = buildContext(undefined, true);
    const from = await keptWithSameInputs(host, ctx, {
      'frontend/index.html': '<html>1',
      'frontend/assets/app-1.js': 'one',
      'frontend/assets/app-0.js': 'carried from release 0',
      [MANIFEST]: JSON.stringify({ own: ['assets/app-1.js'], carried: { 'assets/app-0.js': id(0) } }),
    });
    const { plan, note } = await planAndRun(buildFrontend, ctx);
    expect(plan.summary).toBe(`reuse the frontend of ${id(1)}: same inputs`);
    expect(callsTo(host, 'link')).toEqual([
      [`${from}/frontend/assets/app-1.js`, `${release}/frontend/assets/app-1.js`],
      [`${from}/frontend/index.html`, `${release}/frontend/index.html`],
    ]);
    expect(host.files.get(`${release}/frontend/index.html`)).toBe('<html>1');
    expect(callsTo(builder, 'shell')).toEqual([]);
    expect(ctx.state.reused).toEqual({ frontend: id(1) });
    expect(note).toMatch(new RegExp(`^skipped \`npm run build\`: same inputs as ${id(1)} \\(\\w+\\); hard-linked its 2 files`));
  });

  it('with several hosts: builds once into a staging folder on the builder, then sends it with --link-dest', async () => {
    const { ctx, host, builder, release } = buildContext(undefined, true);
    put(builder, path.join(OUT_DIR, 'index.html'), '<html>');
    ctx.state.buildOnce = { dirs: [] };
    const { note } = await planAndRun(buildFrontend, ctx);
    const staged = ctx.state.buildOnce.dirs[0]!;
    expect(path.basename(staged).startsWith('zdd-frontend-')).toBe(true);
    expect(callsTo(builder, 'upload')).toEqual([[OUT_DIR, staged, undefined]]);
    expect(callsTo(host, 'upload')).toEqual([[staged, `${release}/frontend`, { linkDest: [`${ctx.paths.releases}/${id(1)}/frontend`] }]]);
    expect(note).toMatch(/^built once for every host/);
  });

  it('skips without a frontend', async () => {
    const { ctx, host } = buildContext(stepConfig({ backend: BACKEND }));
    expect((await planAndRun(buildFrontend, ctx)).plan.skip).toBe('no frontend configured');
    expect(mutations(host)).toEqual([]);
  });
});

describe('build-backend', () => {
  it('runs backend.build on the builder and copies backend.root without node_modules and .git', async () => {
    const { ctx, host, builder, release } = buildContext();
    put(builder, path.join(BACKEND_ROOT, 'server.js'), 'server');
    put(builder, path.join(BACKEND_ROOT, 'node_modules', 'x', 'index.js'), 'x');
    const { plan, note } = await planAndRun(buildBackend, ctx);
    expect(plan.summary).toBe('npm run build:server');
    expect(plan.actions).toContain('starts alongside build-frontend');
    expect(callsTo(builder, 'shell')).toEqual([['npm run build:server', expect.objectContaining({ cwd: BACKEND_ROOT })]]);
    expect(callsTo(host, 'upload')).toEqual([[BACKEND_ROOT, `${release}/backend`, { exclude: ['node_modules', '.git'] }]]);
    expect(host.files.get(`${release}/backend/server.js`)).toBe('server');
    expect(host.files.has(`${release}/backend/node_modules/x/index.js`)).toBe(false);
    expect(note).toBe('built and copied (first deploy)');
  });

  it('begun with build-frontend: run waits for the part already under way and reports it as parallel', async () => {
    const { ctx, builder } = buildContext();
    put(builder, path.join(BACKEND_ROOT, 'server.js'), 'server');
    const plan = await buildBackend.plan(ctx);
    buildBackend.begin!(ctx);
    expect(ctx.state.backendJob).toBeDefined();
    const note = await buildBackend.run(ctx, plan);
    expect(note).toMatch(/^built and copied \(first deploy\); ran alongside build-frontend in \d+ ms \(waited \d+ ms for it\)$/);
    expect(ctx.state.backendJob!.consumed).toBe(true);
    expect(ctx.state.parallel?.['build-backend']).toBeTypeOf('number');
    expect(callsTo(builder, 'shell')).toHaveLength(1);
  });

  it('cleanup stops a part begun alongside a frontend build that failed', async () => {
    const { ctx, builder } = buildContext();
    put(builder, path.join(BACKEND_ROOT, 'server.js'), 'server');
    buildBackend.begin!(ctx);
    await buildBackend.cleanup!(ctx);
    expect(ctx.state.backendJob!.controller.signal.aborted).toBe(true);
    const signal = (callsTo(builder, 'shell')[0]?.[1] as ExecOptions | undefined)?.signal;
    expect(signal?.aborted).toBe(true);
  });

  it('same inputs as a kept release: hard-links its backend (without node_modules and shared links), no build', async () => {
    const config = stepConfig({ backend: { ...BACKEND, build: 'npm run build:server' }, shared: { files: ['.env'] } });
    const { ctx, host, builder, release } = buildContext(config, true);
    const from = await keptWithSameInputs(host, ctx, { 'backend/server.js': 'server 1', 'backend/lib/a.js': 'a' });
    const { plan, note } = await planAndRun(buildBackend, ctx);
    expect(plan.summary).toBe(`reuse the backend of ${id(1)}: same inputs`);
    expect(callsTo(host, 'linkTree')).toEqual([[`${from}/backend`, `${release}/backend`, { exclude: ['node_modules', '.env'] }]]);
    expect(host.files.get(`${release}/backend/server.js`)).toBe('server 1');
    expect(callsTo(builder, 'shell')).toEqual([]);
    expect(callsTo(host, 'upload')).toEqual([]);
    expect(ctx.state.reused).toEqual({ backend: id(1) });
    expect(note).toMatch(/hard-linked its 2 files$/);
  });

  it('with several hosts: backend.build runs once on the builder, each host gets the copy with --link-dest', async () => {
    const { ctx, host, builder, release } = buildContext(undefined, true);
    put(builder, path.join(BACKEND_ROOT, 'server.js'), 'server');
    put(builder, path.join(BACKEND_ROOT, 'node_modules', 'x', 'index.js'), 'x');
    ctx.state.buildOnce = { dirs: [] };
    const { note } = await planAndRun(buildBackend, ctx);
    expect(callsTo(builder, 'shell')).toEqual([['npm run build:server', expect.objectContaining({ cwd: BACKEND_ROOT })]]);
    expect(ctx.state.buildOnce.backend).toBeInstanceOf(Promise);
    expect(callsTo(host, 'upload')).toEqual([
      [BACKEND_ROOT, `${release}/backend`, { exclude: ['node_modules', '.git'], linkDest: [`${ctx.paths.releases}/${id(1)}/backend`] }],
    ]);
    expect(host.files.has(`${release}/backend/node_modules/x/index.js`)).toBe(false);
    expect(note).toBe('built once for every host and sent (first deploy)');
  });

  it('fails when backend.script is not in the release', async () => {
    const { ctx } = buildContext();
    const err = await planAndRun(buildBackend, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toMatch(/^backend\.script server\.js is not in the release/);
  });

  it('skips without a backend', async () => {
    const { ctx } = buildContext(stepConfig({ frontend: {} }));
    expect((await planAndRun(buildBackend, ctx)).plan.skip).toBe('no backend configured');
  });
});

describe('carry-over', () => {
  it('hard-links the kept release’s hashed files the new build lacks, and records own and carried files', async () => {
    const { ctx, host, release } = buildContext(stepConfig({ frontend: {} }), true);
    const from = seedRelease(
      host,
      ctx,
      id(1),
      { status: 'ok', wentLiveAt: '2026-11-27T09:00:00.000Z' },
      {
        'frontend/index.html': '<html>1',
        'frontend/assets/old-1.js': 'old chunk',
        'frontend/assets/same.css': 'theirs',
        'frontend/assets/same.css.gz': 'gzip of theirs',
        'frontend/assets/old-1.js.gz': 'gzip of old chunk',
      },
    );
    put(host, `${release}/frontend/index.html`, '<html>2');
    put(host, `${release}/frontend/assets/new-2.js`, 'new chunk');
    put(host, `${release}/frontend/assets/same.css`, 'ours');
    const { plan, note } = await planAndRun(carryOver, ctx);
    expect(plan.found?.sources).toEqual([id(1)]);
    // Never a name the new build has, nor the .gz of one (it would be the compressed form of another file).
    expect(plan.found?.items.map((i) => i.rel)).toEqual(['assets/old-1.js', 'assets/old-1.js.gz']);
    expect(callsTo(host, 'link')).toEqual([
      [`${from}/frontend/assets/old-1.js`, `${release}/frontend/assets/old-1.js`],
      [`${from}/frontend/assets/old-1.js.gz`, `${release}/frontend/assets/old-1.js.gz`],
    ]);
    expect(host.files.get(`${release}/frontend/assets/old-1.js`)).toBe('old chunk');
    expect(host.files.get(`${release}/frontend/assets/same.css`)).toBe('ours');
    expect(host.files.has(`${release}/frontend/assets/same.css.gz`)).toBe(false);
    expect(readJson(host, `${release}/${MANIFEST}`)).toEqual({
      own: ['assets/new-2.js', 'assets/same.css'],
      carried: { 'assets/old-1.js': id(1), 'assets/old-1.js.gz': id(1) },
    });
    expect(note).toBe('carried 2 files (26 B) from 1 release as hard links (no extra disk space)');
  });

  it('first deploy: nothing to carry, but the new release’s own files are recorded', async () => {
    const { ctx, host, release } = buildContext(stepConfig({ frontend: {} }));
    put(host, `${release}/frontend/assets/new-2.js`, 'new chunk');
    const { plan, note } = await planAndRun(carryOver, ctx);
    expect(plan.summary).toBe('no earlier release kept: nothing to carry');
    expect(note).toBe('no earlier release kept');
    expect(callsTo(host, 'link')).toEqual([]);
    expect(readJson(host, `${release}/${MANIFEST}`)).toEqual({ own: ['assets/new-2.js'], carried: {} });
  });

  it('skips without a frontend, or with frontend.carryOver empty', async () => {
    expect((await planAndRun(carryOver, buildContext(stepConfig({ backend: BACKEND })).ctx)).plan.skip).toBe('no frontend configured');
    const { ctx, host } = buildContext(stepConfig({ frontend: { carryOver: [] } }));
    expect((await planAndRun(carryOver, ctx)).plan.skip).toBe('frontend.carryOver is empty');
    expect(mutations(host)).toEqual([]);
  });
});

describe('install', () => {
  const installCalls = (host: RecordingHost) => host.commands().filter((c) => c !== 'node --version');

  it('runs backend.install in the release’s backend folder', async () => {
    const { ctx, host, release } = buildContext(stepConfig({ backend: BACKEND }));
    const { plan, note } = await planAndRun(install, ctx);
    expect(plan.summary).toBe('npm ci --omit=dev');
    expect(callsTo(host, 'shell')).toEqual([['npm ci --omit=dev', expect.objectContaining({ cwd: `${release}/backend` })]]);
    expect(note).toBe('installed (first deploy)');
  });

  it('same lockfile and Node as a kept release: hard-links its node_modules and checks them with npm ls', async () => {
    const { ctx, host, release } = buildContext(stepConfig({ backend: BACKEND }), true);
    const from = await keptWithSameInputs(host, ctx, { 'backend/node_modules/left-pad/index.js': 'pad' });
    const { plan, note } = await planAndRun(install, ctx);
    expect(plan.summary).toBe(`reuse node_modules of ${id(1)}: same lockfile, package.json, install command and Node`);
    expect(callsTo(host, 'linkTree')).toEqual([[`${from}/backend/node_modules`, `${release}/backend/node_modules`, undefined]]);
    expect(host.files.get(`${release}/backend/node_modules/left-pad/index.js`)).toBe('pad');
    expect(installCalls(host)).toEqual([VERIFY_INSTALL.join(' ')]);
    expect((callsTo(host, 'exec').at(-1)![1] as ExecOptions).cwd).toBe(`${release}/backend`);
    expect(ctx.state.reused).toEqual({ install: id(1) });
    expect(note).toMatch(/hard-linked its node_modules \(1 files\); `npm ls --omit=dev --depth=0` passed$/);
  });

  it('a reused node_modules that fails npm ls: removed, and a clean install runs', async () => {
    const { ctx, host, release, log } = buildContext(stepConfig({ backend: BACKEND }), true);
    await keptWithSameInputs(host, ctx, { 'backend/node_modules/left-pad/index.js': 'pad' });
    host.respond = (cmd) => (Array.isArray(cmd) && cmd[0] === 'npm' ? { exitCode: 1, all: 'npm ERR! missing: express@5.0.0' } : undefined);
    const { note } = await planAndRun(install, ctx);
    expect(installCalls(host)).toEqual([VERIFY_INSTALL.join(' '), 'npm ci --omit=dev']);
    expect(callsTo(host, 'remove').filter(([p]) => p === `${release}/backend/node_modules`)).toHaveLength(2);
    expect(host.files.has(`${release}/backend/node_modules/left-pad/index.js`)).toBe(false);
    expect(log()).toContain('npm ERR! missing: express@5.0.0');
    expect(note).toBe(`installed (the node_modules of ${id(1)} failed \`npm ls --omit=dev --depth=0\`)`);
    expect(ctx.state.reused).toEqual({});
  });

  it('never reuses when package.json has install scripts (read on the builder)', async () => {
    const { ctx, host, builder } = buildContext(stepConfig({ backend: BACKEND }), true);
    put(builder, path.join(BACKEND_ROOT, 'package.json'), JSON.stringify({ scripts: { postinstall: 'node setup.js' } }));
    await keptWithSameInputs(host, ctx, { 'backend/node_modules/left-pad/index.js': 'pad' });
    const { note } = await planAndRun(install, ctx);
    expect(callsTo(host, 'linkTree')).toEqual([]);
    expect(installCalls(host)).toEqual(['npm ci --omit=dev']);
    expect(note).toBe('installed (package.json has install scripts (postinstall), which may write outside node_modules)');
  });

  it('skips without a backend', async () => {
    const { ctx, host } = buildContext(stepConfig({ frontend: {} }));
    expect((await planAndRun(install, ctx)).plan.skip).toBe('no backend configured');
    expect(mutations(host)).toEqual([]);
  });
});
