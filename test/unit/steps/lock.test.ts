/**
 * The lock step on a RecordingHost (hostname 'test-host'; `alive` holds the pids that run): run takes
 * <deployTo>/.zdd/lock with createExclusive, a live holder stops it with LockedError (exit 3), and
 * cleanup removes the lock only while it is still this run's.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, LockedError, exitCodeOf } from '../../../src/core/errors.js';
import { lock } from '../../../src/steps/lock.js';
import { callsTo, id, mutations, planAndRun, put, readJson, stepContext } from '../../helpers/steps.js';

const other = { pid: 999, host: 'test-host', user: 'alice', command: `zdd deploy ${id(1)}`, startedAt: '2026-11-27T10:00:00.000Z' };

describe('lock', () => {
  it('creates the lock file exclusively with who holds it, and keeps the holder in the state', async () => {
    const { ctx, host, paths } = stepContext({ releaseId: id(2) });
    const { plan } = await planAndRun(lock, ctx);
    expect(plan.summary).toBe(`take ${paths.lock}`);
    expect(mutations(host)).toEqual([`mkdir ${paths.state}`, `createExclusive ${paths.lock}`]);
    const written = readJson(host, paths.lock);
    expect(written).toMatchObject({ pid: process.pid, host: 'test-host', user: 'tester', command: `zdd deploy ${id(2)}` });
    expect(callsTo(host, 'createExclusive')).toEqual([[paths.lock, `${JSON.stringify(written, null, 2)}\n`]]);
    expect(ctx.state.lock).toEqual(written);
  });

  it('a lock held by a live process: LockedError (exit 3) naming the holder, the lock untouched', async () => {
    const { ctx, host, paths } = stepContext();
    const held = `${JSON.stringify(other, null, 2)}\n`;
    put(host, paths.lock, held);
    host.alive.add(999);
    const err = await planAndRun(lock, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect(exitCodeOf(err)).toBe(EXIT.locked);
    expect((err as LockedError).message).toContain('alice@test-host pid 999');
    expect(host.files.get(paths.lock)).toBe(held);
    expect(callsTo(host, 'remove')).toEqual([]);
    expect(ctx.state.lock).toBeUndefined();
  });

  it('takes over the lock of a holder that is gone (its pid runs nothing here), with a warning', async () => {
    const { ctx, host, paths, log } = stepContext();
    put(host, paths.lock, JSON.stringify(other));
    await planAndRun(lock, ctx);
    expect(callsTo(host, 'remove')).toEqual([[paths.lock]]);
    expect(readJson(host, paths.lock).pid).toBe(process.pid);
    expect(log()).toContain('taking over the lock of a deploy that is gone');
  });

  it('cleanup removes its own lock', async () => {
    const { ctx, host, paths } = stepContext();
    await planAndRun(lock, ctx);
    await lock.cleanup!(ctx);
    expect(callsTo(host, 'remove')).toEqual([[paths.lock]]);
    expect(host.files.has(paths.lock)).toBe(false);
  });

  it('cleanup leaves a lock that is no longer its own (someone took it over) alone', async () => {
    const { ctx, host, paths } = stepContext();
    await planAndRun(lock, ctx);
    const theirs = JSON.stringify({ ...other, pid: 1234, startedAt: new Date().toISOString() });
    host.files.set(paths.lock, theirs);
    await lock.cleanup!(ctx);
    expect(callsTo(host, 'remove')).toEqual([]);
    expect(host.files.get(paths.lock)).toBe(theirs);
  });

  it('cleanup leaves a lock of the same pid but another start alone (the pid was reused)', async () => {
    const { ctx, host, paths } = stepContext();
    await planAndRun(lock, ctx);
    const later = JSON.stringify({ ...ctx.state.lock, startedAt: new Date(Date.now() + 60_000).toISOString() });
    host.files.set(paths.lock, later);
    await lock.cleanup!(ctx);
    expect(callsTo(host, 'remove')).toEqual([]);
    expect(host.files.get(paths.lock)).toBe(later);
  });

  it('cleanup without a lock taken (run never got it) does nothing', async () => {
    const { ctx, host, paths } = stepContext();
    put(host, paths.lock, JSON.stringify(other));
    await lock.cleanup!(ctx);
    expect(mutations(host)).toEqual([]);
    expect(host.files.has(paths.lock)).toBe(true);
  });

  it('a dangling symlink at the lock path is an unreadable lock (exit 3), not a loop that never ends', async () => {
    const { ctx, host, paths } = stepContext();
    host.links.set(paths.lock, '/nowhere/lock');
    const err = await planAndRun(lock, { ...ctx, flags: { ...ctx.flags, lockWait: 0 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).message).toBe(`the lock ${paths.lock} is unreadable`);
    expect(callsTo(host, 'remove')).toEqual([]);
  });
});
