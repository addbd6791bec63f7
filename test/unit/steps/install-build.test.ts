/**
 * install-frontend and install-backend-build on RecordingHosts: the install a fresh checkout needs
 * on the builder, the folder and command its lockfile picks, the .zdd-install.json marker that skips
 * it while nothing changed, the skips when the build is reused, and one install for every host.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTALL_MARKER } from '../../../src/build/build-install.js';
import { inputsFor } from '../../../src/build/inputs.js';
import { CommandFailed } from '../../../src/core/errors.js';
import { RecordingHost } from '../../../src/host/recording.js';
import { installBackendBuild, installFrontend } from '../../../src/steps/install-build.js';
import { BACKEND, PROJECT, callsTo, id, planAndRun, put, putDir, readJson, seedRelease, stepConfig, stepContext } from '../../helpers/steps.js';

const FRONTEND = path.join(PROJECT, 'frontend');
const BACKEND_ROOT = path.join(PROJECT, 'backend');
const MARKER = path.join(FRONTEND, INSTALL_MARKER);

function installContext(config = stepConfig({ frontend: {} }), opts: { previous?: boolean } = {}) {
  const builder = new RecordingHost('local');
  const s = stepContext({ config, releaseId: id(2), previousId: opts.previous ? id(1) : undefined, builder });
  return { ...s, builder };
}

/** The command lines run on `host`, with the folder each ran in. */
const shells = (host: RecordingHost) => callsTo(host, 'shell').map(([line, o]) => `${line as string} @ ${(o as { cwd: string }).cwd}`);

describe('install-frontend', () => {
  it('a fresh checkout: runs the clean install of frontend/package-lock.json there and writes the marker', async () => {
    const { ctx, host, builder } = installContext();
    put(builder, path.join(FRONTEND, 'package.json'), '{"devDependencies":{"vite":"8.0.0"}}');
    put(builder, path.join(FRONTEND, 'package-lock.json'), '{"lockfileVersion":3}');
    const { plan, note } = await planAndRun(installFrontend, ctx);
    expect(plan.summary).toBe('npm ci');
    expect(plan.actions?.[0]).toBe(`run \`npm ci\` in ${FRONTEND} (the folder of package-lock.json) on local`);
    expect(note).toBe(`installed in ${FRONTEND}`);
    expect(shells(builder)).toEqual([`npm ci @ ${FRONTEND}`]);
    expect(readJson(builder, MARKER)).toMatchObject({ command: 'npm ci', node: process.version, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Everything ran on the builder, nothing on the target.
    expect(callsTo(host, 'shell')).toEqual([]);
  });

  it('skips while the marker holds the same hash; a changed lockfile, package.json or command installs again', async () => {
    const first = installContext();
    put(first.builder, path.join(FRONTEND, 'package.json'), '{"devDependencies":{"vite":"8.0.0"}}');
    put(first.builder, path.join(FRONTEND, 'package-lock.json'), '{"lockfileVersion":3}');
    await planAndRun(installFrontend, first.ctx);
    const again = async (edit: (b: RecordingHost) => void, config = stepConfig({ frontend: {} })) => {
      const s = stepContext({ config, releaseId: id(3), builder: first.builder });
      edit(first.builder);
      first.builder.calls.length = 0;
      const { plan } = await planAndRun(installFrontend, s.ctx);
      return { plan, ran: shells(first.builder) };
    };
    const same = await again(() => {});
    expect(same.plan.skip).toMatch(/^node_modules up to date \(same package-lock\.json, package\.json, command and Node as the install of \d{4}-/);
    expect(same.ran).toEqual([]);
    expect((await again((b) => put(b, path.join(FRONTEND, 'package-lock.json'), '{"lockfileVersion":3,"x":1}'))).ran).toEqual([`npm ci @ ${FRONTEND}`]);
    expect((await again(() => {})).ran).toEqual([]);
    expect((await again((b) => put(b, path.join(FRONTEND, 'package.json'), '{"devDependencies":{"vite":"8.1.0"}}'))).ran).toEqual([`npm ci @ ${FRONTEND}`]);
    const custom = await again(() => {}, stepConfig({ frontend: { install: 'npm ci --no-audit' } }));
    expect(custom.ran).toEqual([`npm ci --no-audit @ ${FRONTEND}`]);
    // --no-cache installs whatever the marker says.
    const noCache = stepContext({
      config: stepConfig({ frontend: { install: 'npm ci --no-audit' } }),
      releaseId: id(3),
      builder: first.builder,
      flags: { noCache: true },
    });
    expect((await installFrontend.plan(noCache.ctx)).skip).toBeUndefined();
    // node_modules gone (so is its marker): installs.
    expect((await again((b) => b.files.delete(MARKER), stepConfig({ frontend: { install: 'npm ci --no-audit' } }))).ran).toEqual([
      `npm ci --no-audit @ ${FRONTEND}`,
    ]);
  });

  it('a workspace: the lockfile above frontend.root picks the root, pnpm its own command; no workspace there: npm install without writing a lockfile', async () => {
    const { ctx, builder } = installContext();
    put(builder, path.join(PROJECT, 'package.json'), '{"name":"root"}');
    put(builder, path.join(PROJECT, 'pnpm-workspace.yaml'), 'packages:\n  - "frontend"\n  - backend\n');
    put(builder, path.join(PROJECT, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
    put(builder, path.join(FRONTEND, 'package.json'), '{"name":"web"}');
    put(builder, path.join(BACKEND_ROOT, 'package.json'), '{"name":"api"}');
    await planAndRun(installFrontend, ctx);
    expect(shells(builder)).toEqual([`pnpm install --frozen-lockfile @ ${PROJECT}`]);
    expect(builder.files.has(path.join(PROJECT, INSTALL_MARKER))).toBe(true);
    // A member's package.json is part of the hash: editing the backend's installs again.
    put(builder, path.join(BACKEND_ROOT, 'package.json'), '{"name":"api","dependencies":{"ms":"2.1.3"}}');
    expect((await installFrontend.plan(stepContext({ config: stepConfig({ frontend: {} }), builder }).ctx)).skip).toBeUndefined();

    const bare = installContext();
    put(bare.builder, path.join(FRONTEND, 'package.json'), '{}');
    put(bare.builder, path.join(PROJECT, 'package-lock.json'), '{}'); // a lockfile above that is no workspace of frontend's
    await planAndRun(installFrontend, bare.ctx);
    expect(shells(bare.builder)).toEqual([`npm install --no-package-lock @ ${FRONTEND}`]);
  });

  it('frontend.install false, no frontend, or a reused build: nothing runs, and the plan says why', async () => {
    const off = installContext(stepConfig({ frontend: { install: false } }));
    expect((await installFrontend.plan(off.ctx)).skip).toBe('frontend.install is false (you install)');
    expect((await installFrontend.plan(installContext(stepConfig({ backend: BACKEND })).ctx)).skip).toBe('no frontend configured');

    const { ctx, host, builder } = installContext(stepConfig({ frontend: {} }), { previous: true });
    put(builder, path.join(FRONTEND, 'package-lock.json'), '{}');
    seedRelease(host, ctx, id(1), { status: 'ok', inputs: await inputsFor(ctx) }, { 'frontend/index.html': '<html>' });
    const plan = await installFrontend.plan(ctx);
    expect(plan.skip).toBe(`not needed: the frontend of ${id(1)} is reused (same inputs), no build runs`);
    expect(callsTo(builder, 'shell')).toEqual([]);
  });

  it('never installs into a node_modules that is a symlink (a linked tree would be pruned)', async () => {
    const { ctx, builder } = installContext();
    put(builder, path.join(FRONTEND, 'package-lock.json'), '{}');
    putDir(builder, '/opt/shared/node_modules');
    builder.links.set(path.join(FRONTEND, 'node_modules'), '/opt/shared/node_modules');
    expect((await installFrontend.plan(ctx)).skip).toBe('node_modules is a symlink (to /opt/shared/node_modules): zdd does not install into it');
    expect(callsTo(builder, 'shell')).toEqual([]);
  });

  it('a failing install fails the step with its output and writes no marker', async () => {
    const { ctx, builder } = installContext();
    put(builder, path.join(FRONTEND, 'package-lock.json'), '{}');
    builder.respond = (cmd) => (cmd === 'npm ci' ? { exitCode: 1, all: 'npm error code EUSAGE\nnpm error lockfile out of sync' } : undefined);
    const err = await planAndRun(installFrontend, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).tail).toContain('lockfile out of sync');
    expect(builder.files.has(MARKER)).toBe(false);
  });

  it('several hosts: the builder installs once for all of them', async () => {
    const builder = new RecordingHost('local');
    put(builder, path.join(FRONTEND, 'package-lock.json'), '{}');
    const buildOnce = { dirs: [] };
    const runs = [0, 1, 2].map((i) => {
      const s = stepContext({ config: stepConfig({ frontend: {} }), releaseId: id(2), builder });
      s.ctx.state.buildOnce = buildOnce;
      s.ctx.state.hostIndex = i;
      return s.ctx;
    });
    // Every host plans before any runs (prepare runs on the hosts in parallel).
    const plans = await Promise.all(runs.map((c) => installFrontend.plan(c)));
    const notes = await Promise.all(runs.map((c, i) => installFrontend.run(c, plans[i]!)));
    expect(shells(builder)).toEqual([`npm ci @ ${FRONTEND}`]);
    expect(notes.filter((n) => String(n).includes('once for every host'))).toHaveLength(2);
  });
});

describe('install-backend-build', () => {
  const tsBackend = { ...BACKEND, build: 'npx tsc' };

  it('with backend.build: the clean install of the backend lockfile on the builder; without it, nothing', async () => {
    const { ctx, builder } = installContext(stepConfig({ backend: tsBackend }));
    put(builder, path.join(BACKEND_ROOT, 'package-lock.json'), '{}');
    const { plan } = await planAndRun(installBackendBuild, ctx);
    expect(plan.summary).toBe('npm ci');
    expect(shells(builder)).toEqual([`npm ci @ ${BACKEND_ROOT}`]);
    expect((await installBackendBuild.plan(installContext(stepConfig({ backend: BACKEND })).ctx)).skip).toBe(
      'no backend.build (the release installs production dependencies only)',
    );
    const off = installContext(stepConfig({ backend: { ...tsBackend, buildInstall: false } }));
    expect((await installBackendBuild.plan(off.ctx)).skip).toBe('backend.buildInstall is false (you install)');
  });

  it('a workspace shared with the frontend installs once: the dry-run plan says so, the run finds it up to date', async () => {
    const config = stepConfig({ frontend: {}, backend: { ...tsBackend, workspace: PROJECT } });
    const { ctx, builder } = installContext(config);
    put(builder, path.join(PROJECT, 'package.json'), '{"workspaces":["frontend","backend"]}');
    put(builder, path.join(PROJECT, 'package-lock.json'), '{}');
    put(builder, path.join(FRONTEND, 'package.json'), '{"name":"web"}');
    put(builder, path.join(BACKEND_ROOT, 'package.json'), '{"name":"api"}');
    expect((await installBackendBuild.plan(ctx)).skip).toBe(`install-frontend runs \`npm ci\` in ${PROJECT}, which covers the backend build`);
    await planAndRun(installFrontend, ctx);
    const { plan } = await planAndRun(installBackendBuild, ctx);
    expect(plan.skip).toMatch(/^node_modules up to date/);
    expect(shells(builder)).toEqual([`npm ci @ ${PROJECT}`]);
  });

  it('a reused backend needs no build, so no install', async () => {
    const { ctx, host, builder } = installContext(stepConfig({ backend: tsBackend }), { previous: true });
    putDir(builder, BACKEND_ROOT);
    seedRelease(host, ctx, id(1), { status: 'ok', inputs: await inputsFor(ctx) }, { 'backend/server.js': 'x' });
    expect((await installBackendBuild.plan(ctx)).skip).toBe(`not needed: the backend of ${id(1)} is reused (same inputs), no build runs`);
  });
});
