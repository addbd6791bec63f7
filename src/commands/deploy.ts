import { loadConfig } from '../config/load.js';
import { EXIT } from '../core/errors.js';
import { LocalHost } from '../host/local.js';
import { makeContext } from '../deploy/context.js';
import { executeSteps } from '../deploy/execute.js';
import { runHook } from '../steps/hooks.js';
import { inputsFor } from '../build/inputs.js';
import { freshReleaseId, pathsFor } from '../releases/paths.js';
import { failedRecord, updateRelease } from '../releases/release.js';
import { closePm2 } from '../pm2/reload.js';
import { unchangedSince } from '../deploy/unchanged.js';
import { stepsOf } from '../deploy/story.js';
import { parseBake, parseLockWait, type CommandIO, type CommandResult, type GlobalOptions } from './common.js';

export interface DeployOptions extends GlobalOptions {
  dryRun?: boolean;
  lockWait?: string;
  /** Deploy even when nothing changed since the current release. */
  force?: boolean;
  /** `--no-cache` (commander sets `cache: false`): build and install everything. */
  cache?: boolean;
  bake?: string;
}

export async function deployCommand(opts: DeployOptions, io: CommandIO): Promise<CommandResult> {
  const lockWait = parseLockWait(opts.lockWait);
  const bake = parseBake(opts.bake);
  const config = await loadConfig({ configPath: opts.config, cwd: io.cwd });
  const flags = { dryRun: Boolean(opts.dryRun), verbose: Boolean(opts.verbose), lockWait, force: Boolean(opts.force), noCache: opts.cache === false, bake };
  if (config.hosts) return (await import('../deploy/on-hosts.js')).deployOnHosts(config, flags, io);
  const paths = pathsFor(config);
  const ctx = await makeContext({
    command: 'deploy',
    config,
    out: io.out,
    flags,
    releaseId: await freshReleaseId([{ host: new LocalHost(), releases: paths.releases }], new Date()),
  });

  // Hashing the parts' inputs starts now; the check below and the build steps share the result.
  void inputsFor(ctx);
  if (!ctx.flags.force && !ctx.flags.noCache) {
    let same: Awaited<ReturnType<typeof unchangedSince>>;
    try {
      same = await unchangedSince(ctx);
    } catch (err) {
      await closePm2(ctx);
      throw err;
    }
    if ('id' in same) {
      await closePm2(ctx);
      const what = ctx.flags.dryRun ? 'dry run: a deploy would do nothing' : 'no new release, no reload';
      io.out.summary(true, `nothing changed since ${same.id}, which is current and running: ${what} (zdd deploy --force deploys anyway)`);
      return {
        exitCode: EXIT.ok,
        json: {
          noop: true,
          ...(ctx.flags.dryRun ? { dryRun: true } : {}),
          reason: 'nothing changed',
          release: { id: same.id, dir: ctx.previous!.dir, previous: same.id },
          steps: [],
        },
      };
    }
    if (same.changed) io.out.info(`changed since ${ctx.previous!.id}: ${same.changed}`);
  }

  if (ctx.flags.dryRun) io.out.info(`dry run: deploy of ${config.app} to ${paths.root} as release ${ctx.release.id}; nothing will change`);
  return executeSteps(ctx, stepsOf('deploy'), {
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
      await updateRelease(ctx.host, ctx.paths, ctx.release.id, failedRecord(ctx, message)).catch(() => {});
      if (!config.hooks.onFailure.length) return;
      try {
        await runHook(ctx, 'onFailure');
      } catch (hookErr) {
        io.out.warn(`hooks.onFailure failed: ${(hookErr as Error).message}`);
      }
    },
  });
}
