/**
 * `zdd rollback [id]`: switch back to a kept release with no rebuild. The target is checked before
 * anything is touched (bad id, unknown/ambiguous prefix, failed, half-built or incomplete release:
 * exit 2), then the deploy's own steps run: lock, nginx test, switch, PM2 reload, verify (a failure
 * switches back and exits 1), nginx reload when needed, record.
 */
import { loadConfig } from '../config/load.js';
import { LocalHost } from '../host/local.js';
import { makeContext } from '../deploy/context.js';
import { executeSteps } from '../deploy/execute.js';
import { pathsFor } from '../releases/paths.js';
import { loadPm2Api } from '../pm2/pm2.js';
import { currentId, recordFailedBake } from '../releases/release.js';
import { assertIdSyntax, loadCandidates, needsOf, selectTarget, type Selection } from '../releases/select.js';
import { stepsOf } from '../deploy/story.js';
import { parseBake, parseLockWait, type CommandIO, type CommandResult, type GlobalOptions } from './common.js';

export interface RollbackOptions extends GlobalOptions {
  dryRun?: boolean;
  force?: boolean;
  lockWait?: string;
  bake?: string;
}

export async function rollbackCommand(opts: RollbackOptions, io: CommandIO, args: string[]): Promise<CommandResult> {
  const requested = args[0];
  if (requested !== undefined) assertIdSyntax(requested); // before reading anything
  const lockWait = parseLockWait(opts.lockWait);
  const bake = parseBake(opts.bake);
  const force = Boolean(opts.force);
  const config = await loadConfig({ configPath: opts.config, cwd: io.cwd, checkSources: false });
  if (config.hosts) {
    // Loaded only for hosts: it brings the deploy's modules, which a one-machine rollback never needs.
    const { rollbackOnHosts } = await import('../deploy/on-hosts.js');
    return rollbackOnHosts(config, { dryRun: Boolean(opts.dryRun), verbose: Boolean(opts.verbose), lockWait, force, release: requested, bake }, io);
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
    needs: needsOf(config),
  });
  for (const n of selection.notes) io.out.warn(n);

  const ctx = await makeContext({
    command: 'rollback',
    config,
    out: io.out,
    flags: { dryRun: Boolean(opts.dryRun), verbose: Boolean(opts.verbose), lockWait, force, release: requested, bake },
    releaseId: selection.id,
  });
  if (pm2Api) ctx.state.pm2Api = pm2Api;

  if (ctx.flags.dryRun) io.out.info(`dry run: rollback of ${config.app} from ${ctx.previous?.id ?? 'nothing'} to ${ctx.release.id}; nothing will change`);
  else io.out.info(`rolling back ${config.app}: ${ctx.previous?.id ?? 'nothing'} -> ${ctx.release.id}`);
  // A failed rollback leaves the target's record as it was (it says nothing sure about that
  // release), unless its bake switched it back.
  return executeSteps(ctx, stepsOf('rollback'), {
    done: `rolled back ${config.app} to ${ctx.release.id}`,
    what: `rollback to ${ctx.release.id}`,
    json: { forced: selection.forced },
    afterFailure: (message) => recordFailedBake(ctx, message),
  });
}
