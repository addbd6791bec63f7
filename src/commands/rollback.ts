/**
 * `zdd rollback [id]`: switch back to a kept release with no rebuild. The target is checked before
 * anything is touched (bad id, unknown/ambiguous prefix, failed, half-built or incomplete release:
 * exit 2), then the deploy's own steps run: lock, nginx test, switch, PM2 reload, verify (a failure
 * switches back and exits 1), nginx reload when needed, record.
 */
import { loadConfig } from '../config/load.js';
import { LocalHost } from '../host/local.js';
import { makeContext } from '../lib/context.js';
import { executeSteps } from '../lib/execute.js';
import { pathsFor, releaseRef } from '../lib/paths.js';
import { loadPm2Api } from '../lib/pm2.js';
import { currentId } from '../lib/release.js';
import { assertIdSyntax, loadCandidates, selectTarget, type Selection } from '../lib/select.js';
import { rollbackSteps } from '../steps/rollback.js';
import type { DeployContext, Step } from '../steps/types.js';
import { parseLockWait, type CommandIO, type CommandResult, type GlobalOptions } from './common.js';

export interface RollbackOptions extends GlobalOptions {
  dryRun?: boolean;
  force?: boolean;
  lockWait?: string;
}

function needsOf(ctx: Pick<DeployContext, 'config'>) {
  return { backend: Boolean(ctx.config.backend), frontend: Boolean(ctx.config.frontend) };
}

/**
 * Runs right after `lock`: what was read before the lock may be stale (with --lock-wait, another
 * deploy may have switched `current` meanwhile), so choose again on the locked state. A named
 * release stays the same release; "the previous one" is recomputed against the new `current`.
 */
function recheck(requested: string | undefined, force: boolean): Step {
  return {
    id: 'target',
    async plan(ctx) {
      return { summary: `re-check ${requested ? `release ${ctx.release.id}` : 'the previous good release'} against current once the lock is held` };
    },
    async run(ctx) {
      const cur = await currentId(ctx.host, ctx.paths);
      const sel = selectTarget({ requested, current: cur, candidates: await loadCandidates(ctx.host, ctx.paths), force, needs: needsOf(ctx) });
      const moved = cur !== ctx.previous?.id;
      if (moved) ctx.out.warn(`current moved to ${cur ?? 'nothing'} while waiting for the lock (was ${ctx.previous?.id ?? 'nothing'})`);
      if (sel.id !== ctx.release.id) ctx.out.warn(`rolling back to ${sel.id} instead of ${ctx.release.id}, the previous good release of the new current`);
      ctx.release = releaseRef(ctx.paths, sel.id);
      ctx.previous = cur ? releaseRef(ctx.paths, cur) : undefined;
      return `${ctx.previous?.id ?? 'nothing'} -> ${ctx.release.id}`;
    },
  };
}

/** The rollback's step list: the shared `rollbackSteps`, with the re-check right after the lock. */
export function stepsFor(requested: string | undefined, force: boolean): Step[] {
  return rollbackSteps.flatMap((s) => (s.id === 'lock' ? [s, recheck(requested, force)] : [s]));
}

export async function rollbackCommand(opts: RollbackOptions, io: CommandIO, args: string[]): Promise<CommandResult> {
  const requested = args[0];
  if (requested !== undefined) assertIdSyntax(requested); // before reading anything
  const lockWait = parseLockWait(opts.lockWait);
  const force = Boolean(opts.force);
  const config = await loadConfig({ configPath: opts.config, cwd: io.cwd, checkSources: false });
  if (config.hosts) {
    // Loaded only for hosts: it brings the deploy's modules, which a one-machine rollback never needs.
    const { rollbackOnHosts } = await import('./hosts.js');
    return rollbackOnHosts(config, { dryRun: Boolean(opts.dryRun), verbose: Boolean(opts.verbose), lockWait, force }, io, requested);
  }
  // PM2's API loads while the target is chosen, the lock taken and Nginx tested (as a deploy loads
  // it during its builds): pm2-check then finds it ready.
  const pm2Api = config.backend ? loadPm2Api().catch(() => undefined) : undefined;
  const paths = pathsFor(config);
  const local = new LocalHost();

  const current = await currentId(local, paths);
  const selection: Selection = selectTarget({
    requested,
    current,
    candidates: await loadCandidates(local, paths),
    force,
    needs: { backend: Boolean(config.backend), frontend: Boolean(config.frontend) },
  });
  for (const n of selection.notes) io.out.warn(n);

  const ctx = await makeContext({
    command: 'rollback',
    config,
    out: io.out,
    flags: { dryRun: Boolean(opts.dryRun), verbose: Boolean(opts.verbose), lockWait, force },
    releaseId: selection.id,
  });
  if (pm2Api) ctx.notes.pm2Api = pm2Api;
  const steps = stepsFor(requested, force);

  if (ctx.flags.dryRun) io.out.info(`dry run: rollback of ${config.app} from ${ctx.previous?.id ?? 'nothing'} to ${ctx.release.id}; nothing will change`);
  else io.out.info(`rolling back ${config.app}: ${ctx.previous?.id ?? 'nothing'} -> ${ctx.release.id}`);
  // A failed rollback leaves the target's record as it was: it says nothing sure about that release.
  return executeSteps(ctx, steps, {
    done: `rolled back ${config.app} to ${ctx.release.id}`,
    what: `rollback to ${ctx.release.id}`,
    json: { forced: selection.forced },
  });
}
