/**
 * The prune step on a RecordingHost: the plan finds the releases to remove (failed first, then the
 * oldest; never current, never the rollback target), and run removes exactly those it was handed.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prune } from '../../../src/steps/prune.js';
import { callsTo, id, mutations, planAndRun, pointCurrent, seedRelease, stepConfig, stepContext } from '../../helpers/steps.js';

function deployWith(keepReleases: number, statuses: Array<'ok' | 'failed'>, current: number) {
  const s = stepContext({ config: stepConfig({ keepReleases }), releaseId: id(current) });
  for (const [i, status] of statuses.entries()) seedRelease(s.host, s.ctx, id(i + 1), { status }, { 'frontend/index.html': `r${i + 1}` });
  pointCurrent(s.host, s.ctx, id(current));
  return s;
}

describe('prune', () => {
  it('removes the releases its plan found, oldest first, and nothing else', async () => {
    const { ctx, host, paths } = deployWith(2, ['ok', 'ok', 'ok', 'ok'], 4);
    const { plan, note } = await planAndRun(prune, ctx);
    expect(plan.found).toEqual([id(1), id(2)]);
    expect(plan.summary).toBe(`remove ${id(1)}, ${id(2)}`);
    expect(callsTo(host, 'remove')).toEqual(plan.found!.map((r) => [path.join(paths.releases, r)]));
    expect(mutations(host)).toHaveLength(2);
    expect(note).toBe('removed 2');
    expect(await host.readdir(paths.releases)).toEqual([id(3), id(4)]);
    expect(host.files.get(path.join(paths.releases, id(4), 'frontend', 'index.html'))).toBe('r4');
  });

  it('removes failed releases first, and never current or the newest good release before it', async () => {
    const { ctx, host, paths } = deployWith(2, ['ok', 'ok', 'failed', 'ok'], 2);
    const { plan } = await planAndRun(prune, ctx);
    // current is r2 (after a rollback), r1 is its rollback target; r3 failed; r4 is newer.
    expect(plan.found).toEqual([id(3), id(4)]);
    expect(await host.readdir(paths.releases)).toEqual([id(1), id(2)]);
    expect(host.links.get(paths.current)).toBe(`releases/${id(2)}`);
  });

  it('run removes what it is handed, not what it would find again', async () => {
    const { ctx, host, paths } = deployWith(2, ['ok', 'ok', 'ok', 'ok'], 4);
    await prune.run(ctx, { summary: 'remove', found: [id(2)] });
    expect(callsTo(host, 'remove')).toEqual([[path.join(paths.releases, id(2))]]);
    expect(await host.readdir(paths.releases)).toEqual([id(1), id(3), id(4)]);
  });

  it('skips with keepReleases or fewer on disk', async () => {
    const { ctx, host } = deployWith(5, ['ok', 'ok', 'ok'], 3);
    const { plan } = await planAndRun(prune, ctx);
    expect(plan.skip).toBe('5 or fewer releases kept');
    expect(mutations(host)).toEqual([]);
  });
});
