/**
 * The switch step on a RecordingHost: `current` -> releases/<id> through symlinkAtomic (relative),
 * undo points it back (or removes it when nothing was current), and a real folder at `current` is
 * never touched.
 */
import { describe, expect, it } from 'vitest';
import { StepFailed } from '../../../src/core/errors.js';
import { switchCurrent } from '../../../src/steps/switch.js';
import { callsTo, id, mutations, planAndRun, pointCurrent, putDir, seedRelease, stepContext } from '../../helpers/steps.js';

describe('switch', () => {
  it('points current at releases/<id> atomically (a relative link) and marks the context switched', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2), previousId: id(1) });
    seedRelease(host, ctx, id(1));
    seedRelease(host, ctx, id(2));
    pointCurrent(host, ctx, id(1));
    const { plan } = await planAndRun(switchCurrent, ctx);
    expect(plan.summary).toBe(`current -> releases/${id(2)} (was ${id(1)})`);
    expect(callsTo(host, 'symlinkAtomic')).toEqual([[`releases/${id(2)}`, paths.current]]);
    expect(mutations(host)).toEqual([`symlinkAtomic releases/${id(2)}`]);
    expect(host.links.get(paths.current)).toBe(`releases/${id(2)}`);
    expect(ctx.switched).toBe(true);
    expect(Date.parse(ctx.state.liveAt!)).toBeGreaterThan(Date.now() - 10_000);
  });

  it('undo points current back at the previous release', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2), previousId: id(1) });
    pointCurrent(host, ctx, id(1));
    await planAndRun(switchCurrent, ctx);
    await switchCurrent.undo!(ctx);
    expect(callsTo(host, 'symlinkAtomic')).toEqual([
      [`releases/${id(2)}`, paths.current],
      [`releases/${id(1)}`, paths.current],
    ]);
    expect(host.links.get(paths.current)).toBe(`releases/${id(1)}`);
    expect(ctx.switched).toBe(false);
  });

  it('undo of a first deploy removes current (nothing served before)', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(1) });
    putDir(host, paths.root);
    await planAndRun(switchCurrent, ctx);
    expect(host.links.get(paths.current)).toBe(`releases/${id(1)}`);
    await switchCurrent.undo!(ctx);
    expect(callsTo(host, 'remove')).toEqual([[paths.current]]);
    expect(host.links.has(paths.current)).toBe(false);
    expect(ctx.switched).toBe(false);
  });

  it('skips when current already is the release', async () => {
    const { ctx, host } = stepContext({ releaseId: id(1), previousId: id(1) });
    pointCurrent(host, ctx, id(1));
    const { plan } = await planAndRun(switchCurrent, ctx);
    expect(plan.skip).toBe(`current already is ${id(1)}`);
    expect(mutations(host)).toEqual([]);
  });

  it('refuses a real folder at current, touching nothing', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(1) });
    putDir(host, paths.current);
    const err = await switchCurrent.plan(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toMatch(/is a real folder, not a link zdd manages/);
    expect(mutations(host)).toEqual([]);
  });
});
