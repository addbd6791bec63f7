/**
 * The deploy lock on a RecordingHost (hostname 'test-host', user 'tester'; `alive` holds the pids
 * that exist): acquire, refuse, take over a dead holder, wait, release only our own.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EXIT, LockedError, exitCodeOf } from '../../src/core/errors.js';
import { RecordingHost } from '../../src/host/recording.js';
import { acquireLock, describeHolder, readLock, releaseLock, type LockHolder } from '../../src/steps/lock.js';
import { deployPaths } from '../../src/releases/paths.js';
import { Reporter } from '../../src/output/reporter.js';

const paths = deployPaths('/srv/shop');
const ME = 4321;

function setup() {
  const host = new RecordingHost();
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  const out = new Reporter({ mode: 'ci', stream, color: false });
  return { host, out, log: () => chunks.join('') };
}

function holder(over: Partial<LockHolder> = {}): LockHolder {
  return { pid: 999, host: 'test-host', user: 'alice', command: 'deploy', startedAt: '2026-11-27T10:00:00.000Z', ...over };
}

function putLock(host: RecordingHost, h: LockHolder | string) {
  host.files.set(paths.lock, typeof h === 'string' ? h : `${JSON.stringify(h, null, 2)}\n`);
}

async function lockedError(p: Promise<unknown>): Promise<LockedError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LockedError);
    return err as LockedError;
  }
  throw new Error('expected a LockedError');
}

describe('acquireLock', () => {
  it('takes a free lock and records pid, host, user, command and start time', async () => {
    const { host, out } = setup();
    const before = Date.now();
    const mine = await acquireLock(host, paths, { command: 'deploy', waitSeconds: 0, out, pid: ME });
    expect(mine).toMatchObject({ pid: ME, host: 'test-host', user: 'tester', command: 'deploy' });
    expect(new Date(mine.startedAt).toISOString()).toBe(mine.startedAt);
    expect(Date.parse(mine.startedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(JSON.parse(host.files.get(paths.lock)!)).toEqual(mine);
    expect(host.dirs.has(paths.state)).toBe(true);
    // Created exclusively, never by a plain write that could overwrite someone else's lock.
    expect(host.calls.some((c) => c.method === 'createExclusive' && c.args[0] === paths.lock)).toBe(true);
    expect(host.calls.some((c) => c.method === 'writeFile')).toBe(false);
  });

  it('refuses with LockedError (exit 3) naming the holder when a live process on this host holds it', async () => {
    const { host, out } = setup();
    const h = holder();
    putLock(host, h);
    host.alive.add(h.pid);
    const err = await lockedError(acquireLock(host, paths, { command: 'deploy', waitSeconds: 0, out, pid: ME }));
    expect(exitCodeOf(err)).toBe(EXIT.locked);
    expect(err.message).toContain(describeHolder(h));
    expect(err.message).toContain('alice@test-host pid 999');
    expect(err.hint).toMatch(/--lock-wait/);
    expect(JSON.parse(host.files.get(paths.lock)!)).toEqual(h);
  });

  it('takes over, with a warning, a lock whose process is gone on this host', async () => {
    const { host, out, log } = setup();
    putLock(host, holder({ pid: 999 })); // 999 is not in `alive`
    const mine = await acquireLock(host, paths, { command: 'rollback', waitSeconds: 0, out, pid: ME });
    expect(mine.pid).toBe(ME);
    expect(JSON.parse(host.files.get(paths.lock)!)).toMatchObject({ pid: ME, command: 'rollback' });
    expect(log()).toMatch(/warn {2}taking over the lock of a deploy that is gone: alice@test-host pid 999/);
  });

  it('refuses a lock held on another host, even if that pid does not exist here (it cannot be checked)', async () => {
    const { host, out } = setup();
    const h = holder({ host: 'web2', pid: 999 });
    putLock(host, h);
    const err = await lockedError(acquireLock(host, paths, { command: 'deploy', waitSeconds: 0, out, pid: ME }));
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain('alice@web2 pid 999');
    expect(JSON.parse(host.files.get(paths.lock)!)).toEqual(h);
  });

  it('refuses an unreadable lock rather than guessing', async () => {
    const { host, out } = setup();
    putLock(host, '{ half a lo');
    const err = await lockedError(acquireLock(host, paths, { command: 'deploy', waitSeconds: 0, out, pid: ME }));
    expect(err.message).toContain('unreadable');
    expect(err.hint).toContain('zdd unlock --force');
    expect(host.files.get(paths.lock)).toBe('{ half a lo');
  });

  it('returns the lock it already holds (same pid, same host)', async () => {
    const { host, out } = setup();
    const h = holder({ pid: ME });
    putLock(host, h);
    host.alive.add(ME);
    await expect(acquireLock(host, paths, { command: 'deploy', waitSeconds: 0, out, pid: ME })).resolves.toEqual(h);
  });

  it('with waitSeconds > 0, waits and then takes the lock when the holder releases it', async () => {
    const { host, out, log } = setup();
    const h = holder();
    putLock(host, h);
    host.alive.add(h.pid);
    setTimeout(() => host.files.delete(paths.lock), 100);
    const mine = await acquireLock(host, paths, { command: 'deploy', waitSeconds: 10, out, pid: ME });
    expect(mine.pid).toBe(ME);
    expect(JSON.parse(host.files.get(paths.lock)!).pid).toBe(ME);
    expect(log()).toContain('info  waiting up to 10 s for alice@test-host pid 999');
  });

  it('with waitSeconds > 0, gives up with LockedError when the holder keeps it', async () => {
    const { host, out } = setup();
    const h = holder();
    putLock(host, h);
    host.alive.add(h.pid);
    const err = await lockedError(acquireLock(host, paths, { command: 'deploy', waitSeconds: 0.3, out, pid: ME }));
    expect(err.exitCode).toBe(EXIT.locked);
    expect(err.hint).toBe('waited 0.3 s');
    expect(JSON.parse(host.files.get(paths.lock)!)).toEqual(h);
  });
});

describe('releaseLock', () => {
  it('removes our own lock', async () => {
    const { host, out } = setup();
    const mine = await acquireLock(host, paths, { command: 'deploy', waitSeconds: 0, out, pid: ME });
    await releaseLock(host, paths, mine);
    expect(host.files.has(paths.lock)).toBe(false);
    await expect(readLock(host, paths)).resolves.toBeUndefined();
  });

  it('leaves a lock that another process took in the meantime', async () => {
    const { host } = setup();
    const mine = holder({ pid: ME, startedAt: '2026-11-27T10:00:00.000Z' });
    for (const other of [holder({ pid: 999 }), holder({ pid: ME, host: 'web2' }), holder({ pid: ME, startedAt: '2026-11-27T11:00:00.000Z' })]) {
      putLock(host, other);
      await releaseLock(host, paths, mine);
      expect(JSON.parse(host.files.get(paths.lock)!)).toEqual(other);
    }
    expect(host.calls.some((c) => c.method === 'remove')).toBe(false);
  });

  it('does nothing when there is no lock or it is unreadable', async () => {
    const { host } = setup();
    await releaseLock(host, paths, holder({ pid: ME }));
    putLock(host, 'garbage');
    await releaseLock(host, paths, holder({ pid: ME }));
    expect(host.files.get(paths.lock)).toBe('garbage');
  });
});

describe('readLock', () => {
  it('reads a holder, undefined when free, corrupt for non-JSON or a record without pid/host', async () => {
    const { host } = setup();
    await expect(readLock(host, paths)).resolves.toBeUndefined();
    putLock(host, holder());
    await expect(readLock(host, paths)).resolves.toEqual(holder());
    putLock(host, 'not json');
    await expect(readLock(host, paths)).resolves.toBe('corrupt');
    putLock(host, JSON.stringify({ pid: '999', host: 'test-host' }));
    await expect(readLock(host, paths)).resolves.toBe('corrupt');
  });
});
