/**
 * The record step on a RecordingHost: a deploy marks its release.json ok (duration, step timings,
 * input hashes, what it reused, when it went live) and appends one history line; a rollback marks
 * the target live, the release it left rolled back from, and appends a rollback line.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HistoryEntry, ReleaseInfo } from '../../../src/releases/release.js';
import { record } from '../../../src/steps/record.js';
import { id, mutations, planAndRun, put, readJson, seedRelease, stepContext } from '../../helpers/steps.js';

const releaseJson = (paths: { releases: string }, rid: string) => path.join(paths.releases, rid, 'release.json');

describe('record', () => {
  it('deploy: release.json status ok with duration, steps, inputs and reuse; one history line', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2), previousId: id(1) });
    seedRelease(host, ctx, id(1));
    seedRelease(host, ctx, id(2), { status: 'building', user: 'tester', host: 'test-host' });
    ctx.timings = { lock: 3, prepare: 12 };
    ctx.state.liveAt = '2026-11-27T10:30:05.000Z';
    ctx.state.reused = { install: id(1) };
    ctx.state.parallel = { 'build-backend': 800 };
    ctx.state.liveWorkers = [{ pmId: 0, restarts: 4, uptimeStart: 1764237005000 }];
    const { plan } = await planAndRun(record, ctx);
    expect(plan.summary).toBe(`mark ${id(2)} ok and add it to ${paths.history}`);

    const info = readJson<ReleaseInfo>(host, releaseJson(paths, id(2)));
    expect(info).toMatchObject({
      id: id(2),
      status: 'ok',
      user: 'tester',
      steps: { lock: 3, prepare: 12 },
      wentLiveAt: '2026-11-27T10:30:05.000Z',
      workersAtLive: [{ pmId: 0, restarts: 4, uptimeStart: 1764237005000 }],
      reused: { install: id(1) },
      parallel: { 'build-backend': 800 },
    });
    expect(info.durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(info.finishedAt!)).toBeGreaterThan(Date.now() - 10_000);
    expect(info.inputs?.config).toMatch(/^[0-9a-f]{64}$/);

    const history = readJson<HistoryEntry[]>(host, paths.history);
    expect(history).toEqual([
      { at: info.finishedAt, action: 'deploy', result: 'ok', release: id(2), from: id(1), user: 'tester', host: 'test-host', durationMs: info.durationMs },
    ]);
    expect(readJson<ReleaseInfo>(host, releaseJson(paths, id(1))).status).toBe('ok');
  });

  it('deploy: appends to the history that is there', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2) });
    seedRelease(host, ctx, id(2), { status: 'building' });
    const earlier: HistoryEntry = { at: '2026-11-27T09:00:00.000Z', action: 'deploy', result: 'failed', release: id(1), from: null, user: 'a', host: 'h' };
    put(host, paths.history, JSON.stringify([earlier]));
    await planAndRun(record, ctx);
    const history = readJson<HistoryEntry[]>(host, paths.history);
    expect(history).toHaveLength(2);
    expect(history[0]).toEqual(earlier);
    expect(history[1]).toMatchObject({ action: 'deploy', result: 'ok', release: id(2), from: null });
    // (`node --version`: the install inputs hash the target's Node.)
    expect(mutations(host)).toEqual(['exec node --version', `writeFile ${releaseJson(paths, id(2))}`, `mkdir ${paths.state}`, `writeFile ${paths.history}`]);
  });

  it('rollback: the target goes live (its deploy record kept), the release it left is marked rolled back from', async () => {
    const { ctx, host, paths } = stepContext({ command: 'rollback', releaseId: id(1), previousId: id(2) });
    seedRelease(host, ctx, id(1), { durationMs: 4242, steps: { build: 1 }, rolledBackAt: '2026-11-26T00:00:00.000Z' });
    seedRelease(host, ctx, id(2));
    ctx.state.liveAt = '2026-11-27T11:00:00.000Z';
    const { plan } = await planAndRun(record, ctx);
    expect(plan.summary).toBe(`mark ${id(1)} live and ${id(2)} rolled back from; add the rollback to ${paths.history}`);
    const target = readJson<ReleaseInfo>(host, releaseJson(paths, id(1)));
    expect(target).toMatchObject({ status: 'ok', durationMs: 4242, steps: { build: 1 }, wentLiveAt: '2026-11-27T11:00:00.000Z' });
    expect(target.rolledBackAt).toBeUndefined();
    const left = readJson<ReleaseInfo>(host, releaseJson(paths, id(2)));
    expect(left.status).toBe('ok');
    expect(Date.parse(left.rolledBackAt!)).toBeGreaterThan(Date.now() - 10_000);
    expect(readJson<HistoryEntry[]>(host, paths.history)).toMatchObject([{ action: 'rollback', result: 'ok', release: id(1), from: id(2), user: 'tester' }]);
  });
});
