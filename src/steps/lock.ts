/**
 * The deploy lock: `<deployTo>/.zdd/lock`, created atomically (the whole record is written under a
 * temp name and link(2)ed into place, so it exists complete or not at all). A lock whose holder is a
 * process that no longer exists on this host is taken over with a warning.
 */
import { LockedError } from '../core/errors.js';
import type { Host } from '../host/types.js';
import type { Reporter } from '../output/reporter.js';
import type { Paths, Step } from '../core/types.js';

export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  command: string;
  startedAt: string;
}

export function describeHolder(h: LockHolder): string {
  return `${h.user}@${h.host} pid ${h.pid} (${h.command}, since ${h.startedAt})`;
}

export async function readLock(host: Host, paths: Paths): Promise<LockHolder | 'corrupt' | undefined> {
  const text = await host.readFile(paths.lock);
  if (text === undefined) return undefined;
  try {
    const h = JSON.parse(text) as LockHolder;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return 'corrupt';
    return h;
  } catch {
    return 'corrupt';
  }
}

/** Is the holder gone for sure? Only a holder on this host can be checked. */
async function holderIsDead(host: Host, holder: LockHolder): Promise<boolean> {
  const me = await host.identity();
  if (holder.host !== me.hostname) return false;
  return !(await host.processAlive(holder.pid));
}

export interface AcquireOptions {
  command: string;
  waitSeconds: number;
  out: Reporter;
  pid?: number;
}

export async function acquireLock(host: Host, paths: Paths, opts: AcquireOptions): Promise<LockHolder> {
  const me = await host.identity();
  const record: LockHolder = {
    pid: opts.pid ?? me.pid ?? process.pid,
    host: me.hostname,
    user: me.user,
    command: opts.command,
    startedAt: new Date().toISOString(),
  };
  await host.mkdir(paths.state);
  const deadline = Date.now() + opts.waitSeconds * 1000;
  let announced = false;
  for (;;) {
    if (await host.createExclusive(paths.lock, `${JSON.stringify(record, null, 2)}\n`)) return record;
    const holder = await readLock(host, paths);
    if (holder === undefined) {
      // Released between our two calls: try again. Something at the lock's path that reads as nothing
      // (a dangling symlink) is not a lock zdd wrote, and would make this loop spin.
      if (await host.lstat(paths.lock)) {
        throw new LockedError(`the lock ${paths.lock} is unreadable`, { hint: 'check that no deploy runs, then `zdd unlock --force`' });
      }
      continue;
    }
    if (holder === 'corrupt') {
      // We write the lock complete or not at all, so a corrupt one was not written by zdd.
      throw new LockedError(`the lock ${paths.lock} is unreadable`, { hint: 'check that no deploy runs, then `zdd unlock --force`' });
    }
    if (holder.pid === record.pid && holder.host === record.host) return holder;
    if (await holderIsDead(host, holder)) {
      opts.out.warn(`taking over the lock of a deploy that is gone: ${describeHolder(holder)}`);
      // Remove only if it is still the same dead holder's file.
      const again = await readLock(host, paths);
      if (again !== 'corrupt' && again?.pid === holder.pid && again.startedAt === holder.startedAt) await host.remove(paths.lock);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockedError(`another deploy holds the lock: ${describeHolder(holder)}`, {
        hint: opts.waitSeconds > 0 ? `waited ${opts.waitSeconds} s` : 'wait for it, pass --lock-wait <seconds>, or `zdd unlock` if you are sure it is gone',
      });
    }
    if (!announced) {
      opts.out.info(`waiting up to ${opts.waitSeconds} s for ${describeHolder(holder)}`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Releases the lock if we still hold it. */
export async function releaseLock(host: Host, paths: Paths, mine: LockHolder): Promise<void> {
  const holder = await readLock(host, paths);
  if (holder && holder !== 'corrupt' && holder.pid === mine.pid && holder.host === mine.host && holder.startedAt === mine.startedAt) {
    await host.remove(paths.lock);
  }
}

/** Take `<deployTo>/.zdd/lock`; always released at the end (success, failure, Ctrl-C). */
export const lock: Step = {
  id: 'lock',
  async plan(ctx) {
    return { summary: `take ${ctx.paths.lock}` };
  },
  async run(ctx) {
    const holder = await acquireLock(ctx.host, ctx.paths, {
      command: `zdd ${ctx.command} ${ctx.release.id}`,
      waitSeconds: ctx.flags.lockWait,
      out: ctx.out,
    });
    ctx.state.lock = holder;
  },
  async cleanup(ctx) {
    const mine = ctx.state.lock;
    if (mine) await releaseLock(ctx.host, ctx.paths, mine);
  },
};
