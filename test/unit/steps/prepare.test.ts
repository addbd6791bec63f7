/**
 * The prepare step on a RecordingHost: releases/<id>/ and its release.json (status building, who,
 * where, the git commit read on the builder), releases left building by a stopped deploy marked
 * failed, a canary left running stopped; a folder of that id that is not this run's is refused.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StepFailed } from '../../../src/core/errors.js';
import { RecordingHost } from '../../../src/host/recording.js';
import type { ReleaseInfo } from '../../../src/releases/release.js';
import { prepare } from '../../../src/steps/prepare.js';
import { PROJECT, callsTo, id, mutations, planAndRun, put, readJson, seedRelease, stepContext } from '../../helpers/steps.js';

const GIT_STATUS = ['# branch.oid 0123456789abcdef0123456789abcdef01234567', '# branch.head main', '1 .M N... 100644 100644 100644 a b src/app.ts', ''].join(
  '\n',
);

function gitBuilder(stdout = GIT_STATUS, exitCode = 0) {
  const builder = new RecordingHost('local-builder');
  builder.respond = (cmd) => (Array.isArray(cmd) && cmd.join(' ') === 'git status --porcelain=v2 --branch' ? { stdout, exitCode } : undefined);
  return builder;
}

describe('prepare', () => {
  it('creates releases/<id>/ and release.json (building, who, where, git from the builder)', async () => {
    const builder = gitBuilder();
    const { ctx, host, paths } = stepContext({ releaseId: id(2), builder });
    const { plan, note } = await planAndRun(prepare, ctx);
    expect(plan.summary).toBe(`create ${path.join(paths.releases, id(2))}`);
    expect(note).toBe('01234567 (dirty)');
    const dir = path.join(paths.releases, id(2));
    expect(mutations(host)).toEqual([`mkdir ${paths.shared}`, `mkdir ${dir}`, `writeFile ${dir}/release.json`]);
    expect(readJson<ReleaseInfo>(host, path.join(dir, 'release.json'))).toEqual({
      id: id(2),
      status: 'building',
      git: { commit: '0123456789abcdef0123456789abcdef01234567', branch: 'main', dirty: true },
      commit: '0123456789abcdef0123456789abcdef01234567',
      user: 'tester',
      host: 'test-host',
      createdAt: ctx.startedAt.toISOString(),
    });
    // git ran on the builder, in the project, read-only; nothing of it on the target.
    expect(callsTo(builder, 'exec')).toEqual([[['git', 'status', '--porcelain=v2', '--branch'], expect.objectContaining({ cwd: PROJECT, readOnly: true })]]);
    expect(host.commands()).toEqual([]);
  });

  it('outside git: no commit, no note', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2), builder: gitBuilder('', 128) });
    expect((await planAndRun(prepare, ctx)).note).toBeUndefined();
    expect(readJson<ReleaseInfo>(host, path.join(paths.releases, id(2), 'release.json')).git).toEqual({ commit: null, branch: null, dirty: null });
  });

  it('marks a release left building by a stopped deploy failed, never the previous one', async () => {
    const { ctx, host, paths, log } = stepContext({ releaseId: id(3), previousId: id(1), builder: gitBuilder() });
    seedRelease(host, ctx, id(1), { status: 'building' });
    seedRelease(host, ctx, id(2), { status: 'building' });
    await planAndRun(prepare, ctx);
    expect(readJson<ReleaseInfo>(host, path.join(paths.releases, id(2), 'release.json'))).toMatchObject({
      status: 'failed',
      error: 'abandoned: the deploy building it stopped',
    });
    expect(readJson<ReleaseInfo>(host, path.join(paths.releases, id(1), 'release.json')).status).toBe('building');
    expect(log()).toContain(`release ${id(2)} was left half-built`);
  });

  it('stops a canary left running from this deploy root (its process group), and forgets it', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(3), builder: gitBuilder() });
    const canaryJson = path.join(paths.state, 'canary.json');
    put(host, canaryJson, JSON.stringify({ pid: 777, release: id(2), port: 45000 }));
    put(host, '/proc/777/cmdline', ['node', path.join(paths.releases, id(2), 'backend', 'server.js')].join('\0'));
    await planAndRun(prepare, ctx);
    expect(callsTo(host, 'exec')).toEqual([[['kill', '-KILL', '--', '-777'], { reject: false }]]);
    expect(host.files.has(canaryJson)).toBe(false);
  });

  it('leaves a pid alone that now runs something else (pids get reused)', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(3), builder: gitBuilder() });
    put(host, path.join(paths.state, 'canary.json'), JSON.stringify({ pid: 777, release: id(2), port: 45000 }));
    put(host, '/proc/777/cmdline', 'postgres\0-D\0/var/lib/postgresql');
    await planAndRun(prepare, ctx);
    expect(host.commands()).toEqual([]);
    expect(host.files.has(path.join(paths.state, 'canary.json'))).toBe(false);
  });

  it('refuses a folder of that id that is not this run’s', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2), builder: gitBuilder() });
    seedRelease(host, ctx, id(2), { status: 'ok' });
    const err = await planAndRun(prepare, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toBe(`${path.join(paths.releases, id(2))} already exists`);
    expect(readJson<ReleaseInfo>(host, path.join(paths.releases, id(2), 'release.json')).status).toBe('ok');
  });

  it('carries on when run again for the very same release (same start)', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2), builder: gitBuilder() });
    await planAndRun(prepare, ctx);
    await planAndRun(prepare, ctx);
    expect(readJson<ReleaseInfo>(host, path.join(paths.releases, id(2), 'release.json')).status).toBe('building');
  });
});
