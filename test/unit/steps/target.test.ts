/**
 * The rollback's target step on a RecordingHost: once the lock is held it reads `current` and the
 * releases again and chooses on that state; it only reads the host.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { target } from '../../../src/steps/target.js';
import { BACKEND, id, mutations, planAndRun, pointCurrent, seedRelease, stepConfig, stepContext } from '../../helpers/steps.js';

/** Releases r1..r<n> on disk, each with backend/, current -> r<current>. */
function rollbackFrom(current: number, n: number, opts: { release?: string; releaseId: string; previousId: string; failed?: number[] }) {
  const s = stepContext({
    command: 'rollback',
    config: stepConfig({ backend: BACKEND }),
    releaseId: opts.releaseId,
    previousId: opts.previousId,
    flags: { release: opts.release },
  });
  for (let i = 1; i <= n; i++) seedRelease(s.host, s.ctx, id(i), { status: opts.failed?.includes(i) ? 'failed' : 'ok' }, { 'backend/server.js': 'js' });
  pointCurrent(s.host, s.ctx, id(current));
  return s;
}

describe('target', () => {
  it('keeps the chosen release when nothing moved, reading only', async () => {
    const { ctx, host, paths, log } = rollbackFrom(3, 3, { releaseId: id(2), previousId: id(3) });
    const { plan, note } = await planAndRun(target, ctx);
    expect(plan.summary).toBe('re-check the previous good release against current once the lock is held');
    expect(note).toBe(`${id(3)} -> ${id(2)}`);
    expect(ctx.release).toEqual({ id: id(2), dir: `${paths.releases}/${id(2)}` });
    expect(ctx.previous?.id).toBe(id(3));
    expect(host.calls.some((c) => c.method === 'readFile' && c.args[0] === `${paths.releases}/${id(2)}/release.json`)).toBe(true);
    expect(mutations(host)).toEqual([]);
    expect(log()).not.toContain('warn');
  });

  it('current moved while waiting for the lock: the previous good release of the new current, with warnings', async () => {
    // Chosen before the lock: r2 (previous of r3). Meanwhile a deploy made r4 current.
    const { ctx, host, log } = rollbackFrom(4, 4, { releaseId: id(2), previousId: id(3) });
    const { note } = await planAndRun(target, ctx);
    expect(note).toBe(`${id(4)} -> ${id(3)}`);
    expect(ctx.release.id).toBe(id(3));
    expect(ctx.previous?.id).toBe(id(4));
    expect(log()).toContain(`current moved to ${id(4)} while waiting for the lock (was ${id(3)})`);
    expect(log()).toContain(`rolling back to ${id(3)} instead of ${id(2)}`);
    expect(mutations(host)).toEqual([]);
  });

  it('a release named on the command line stays that release', async () => {
    const { ctx } = rollbackFrom(4, 4, { release: id(1), releaseId: id(1), previousId: id(3) });
    const { plan } = await planAndRun(target, ctx);
    expect(plan.summary).toBe(`re-check release ${id(1)} against current once the lock is held`);
    expect(ctx.release.id).toBe(id(1));
    expect(ctx.previous?.id).toBe(id(4));
  });

  it('refuses a named release marked failed (UsageError), leaving the context as it was', async () => {
    const { ctx, host } = rollbackFrom(3, 3, { release: id(2), releaseId: id(2), previousId: id(3), failed: [2] });
    const before = { release: ctx.release, previous: ctx.previous };
    const err = await planAndRun(target, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain('it is marked failed');
    expect({ release: ctx.release, previous: ctx.previous }).toEqual(before);
    expect(mutations(host)).toEqual([]);
  });
});
