import { loadConfig } from '../config/load.js';
import { ZddError } from '../errors.js';
import { LocalHost } from '../host/local.js';
import { makeContext } from '../lib/context.js';
import { executeSteps } from '../lib/execute.js';
import { runHook } from '../lib/hooks.js';
import { pathsFor, timestampId } from '../lib/paths.js';
import { updateRelease } from '../lib/release.js';
import { deploySteps } from '../steps/index.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export interface DeployOptions extends GlobalOptions {
  dryRun?: boolean;
  lockWait?: string;
}

export function parseLockWait(v: string | undefined): number {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n) || n < 0) throw new ZddError(`--lock-wait: expected seconds ≥ 0, got "${v}"`);
  return n;
}

/** A fresh id: the UTC timestamp, with -2, -3... if a release of that second exists. */
async function newReleaseId(releasesDir: string, now: Date): Promise<string> {
  const host = new LocalHost();
  const base = timestampId(now);
  let id = base;
  for (let n = 2; await host.lstat(`${releasesDir}/${id}`); n++) id = `${base}-${n}`;
  return id;
}

export async function deployCommand(opts: DeployOptions, io: CommandIO): Promise<CommandResult> {
  const lockWait = parseLockWait(opts.lockWait);
  const config = await loadConfig({ configPath: opts.config, cwd: io.cwd });
  const paths = pathsFor(config);
  const ctx = await makeContext({
    command: 'deploy',
    config,
    out: io.out,
    flags: { dryRun: Boolean(opts.dryRun), verbose: Boolean(opts.verbose), lockWait, force: false },
    releaseId: await newReleaseId(paths.releases, new Date()),
  });

  if (ctx.flags.dryRun) io.out.info(`dry run: deploy of ${config.app} to ${paths.root} as release ${ctx.release.id}; nothing will change`);
  return executeSteps(ctx, deploySteps, {
    done: `deployed ${config.app} ${ctx.release.id}`,
    what: `deploy of ${ctx.release.id}`,
    async afterSuccess() {
      try {
        if (config.hooks.afterDeploy.length) await runHook(ctx, 'afterDeploy');
      } catch (err) {
        io.out.warn(`hooks.afterDeploy failed (the deploy stands): ${(err as Error).message}`);
      }
    },
    async afterFailure(message) {
      await updateRelease(ctx.host, ctx.paths, ctx.release.id, { status: 'failed', error: message, finishedAt: new Date().toISOString() }).catch(() => {});
      if (!config.hooks.onFailure.length) return;
      try {
        await runHook(ctx, 'onFailure');
      } catch (hookErr) {
        io.out.warn(`hooks.onFailure failed: ${(hookErr as Error).message}`);
      }
    },
  });
}
