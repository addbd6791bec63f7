/**
 * `zdd unlock [--force]`: shows who holds the deploy lock and removes it — after asking on an
 * interactive terminal, or at once with --force. Without a terminal and without --force it refuses
 * (exit 2), so a script never removes a lock by accident. No lock: says so, exit 0.
 */
import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../config/load.js';
import { EXIT, UsageError } from '../core/errors.js';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
import { onEachHost } from './each-host.js';
import { describeHolder, readLock, type LockHolder } from '../steps/lock.js';
import { pathsFor } from '../releases/paths.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export interface UnlockOptions extends GlobalOptions {
  force?: boolean;
}

function sameHolder(a: LockHolder | 'corrupt' | undefined, b: LockHolder | 'corrupt'): boolean {
  if (a === undefined) return false;
  if (a === 'corrupt' || b === 'corrupt') return a === b;
  return a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Remove the lock on one host (this machine, or one of `hosts`). */
async function unlockOn(opts: UnlockOptions, config: ZddConfig, host: Host, io: CommandIO): Promise<CommandResult> {
  const paths = pathsFor(config);

  const holder = await readLock(host, paths);
  if (holder === undefined) {
    io.out.info(`no lock: ${paths.lock} does not exist`);
    return { exitCode: EXIT.ok, json: { lock: null, removed: false } };
  }

  let alive: boolean | null = null;
  if (holder === 'corrupt') io.out.info(`${paths.lock} is held but unreadable (not written by zdd, or damaged)`);
  else {
    const me = await host.identity();
    alive = holder.host === me.hostname ? await host.processAlive(holder.pid) : null;
    io.out.info(`${paths.lock} is held by ${describeHolder(holder)}`);
    if (alive === true) io.out.warn(`process ${holder.pid} is still running on this host: removing the lock lets a second deploy run next to it`);
    else if (alive === false) io.out.info(`process ${holder.pid} is gone (the next deploy would take the lock over by itself)`);
    else io.out.warn(`the holder runs on ${holder.host}; zdd cannot check from here whether it is still running`);
  }
  const lockJson = holder === 'corrupt' ? 'corrupt' : { ...holder, alive };

  if (!opts.force) {
    if (!io.interactive) {
      throw new UsageError('not removing the lock without confirmation', { hint: 'pass --force to remove it (no prompt outside a terminal)' });
    }
    if (!(await ask('Remove the lock? [y/N] '))) {
      io.out.info('left the lock in place');
      return { exitCode: EXIT.ok, json: { lock: lockJson, removed: false } };
    }
  }

  // Remove only the lock we showed: a deploy may have finished and another taken the lock meanwhile.
  const again = await readLock(host, paths);
  if (again === undefined) {
    io.out.info('the lock was released meanwhile; nothing to remove');
    return { exitCode: EXIT.ok, json: { lock: lockJson, removed: false } };
  }
  if (!sameHolder(again, holder)) {
    throw new UsageError(`the lock changed hands meanwhile: now ${again === 'corrupt' ? 'unreadable' : describeHolder(again)}; not removing it`, {
      hint: 'run `zdd unlock` again to see the new holder',
    });
  }
  await host.remove(paths.lock);
  io.out.summary(true, `removed the lock ${paths.lock}`);
  return { exitCode: EXIT.ok, json: { lock: lockJson, removed: true } };
}

export async function unlockCommand(opts: UnlockOptions, io: CommandIO): Promise<CommandResult> {
  const config = await loadConfig({ configPath: opts.config, cwd: io.cwd, checkSources: false });
  return onEachHost(
    config,
    io,
    (c, h, i) => unlockOn(opts, c, h, i),
    () => [],
  );
}
