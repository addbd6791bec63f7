import { loadConfig } from '../config/load.js';
import { closePm2 } from '../lib/reload.js';
import { EXIT, StepFailed, ZddError } from '../errors.js';
import { makeContext, trapSignals } from '../lib/context.js';
import { runHook } from '../lib/hooks.js';
import { pathsFor, timestampId } from '../lib/paths.js';
import { appendHistory, updateRelease } from '../lib/release.js';
import { planSteps, runSteps, type StepReport } from '../runner.js';
import { deploySteps } from '../steps/index.js';
import type { DeployContext } from '../steps/types.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';
import { LocalHost } from '../host/local.js';
import { formatMs } from '../output/reporter.js';

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

export function releaseJson(ctx: DeployContext) {
  return { id: ctx.release.id, dir: ctx.release.dir, previous: ctx.previous?.id ?? null };
}

export function stepsJson(reports: StepReport[] | undefined) {
  return (reports ?? []).map((r) => ({ id: r.id, status: r.status, ms: r.ms, ...(r.note ? { note: r.note } : {}), ...(r.actions ? { actions: r.actions } : {}) }));
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

  if (ctx.flags.dryRun) {
    io.out.info(`dry run: deploy of ${config.app} to ${paths.root} as release ${ctx.release.id}; nothing will change`);
    let reports;
    try {
      reports = await planSteps(deploySteps, ctx);
    } finally {
      await closePm2(ctx);
    }
    io.out.summary(true, 'dry run: nothing was changed');
    return { exitCode: EXIT.ok, json: { dryRun: true, release: releaseJson(ctx), steps: stepsJson(reports) } };
  }

  const untrap = trapSignals(ctx);
  try {
    const reports = await runSteps(deploySteps, ctx);
    try {
      if (config.hooks.afterDeploy.length) await runHook(ctx, 'afterDeploy');
    } catch (err) {
      io.out.warn(`hooks.afterDeploy failed (the deploy stands): ${(err as Error).message}`);
    }
    const total = Date.now() - ctx.startedAt.getTime();
    io.out.summary(true, `deployed ${config.app} ${ctx.release.id} in ${formatMs(total)}${ctx.previous ? ` (was ${ctx.previous.id})` : ''}`);
    if (ctx.interrupt.requested) io.out.warn(`interrupted after the switch: ${ctx.release.id} was verified and is live`);
    return { exitCode: EXIT.ok, json: { release: releaseJson(ctx), steps: stepsJson(reports), timings: ctx.timings } };
  } catch (err) {
    await afterFailure(ctx, err);
    const e = err as ZddError & { reports?: StepReport[] };
    // Attach the JSON parts to the error so the CLI can include them.
    throw Object.assign(e, { json: { release: releaseJson(ctx), steps: stepsJson(e.reports) } });
  } finally {
    untrap();
    await closePm2(ctx);
  }
}

async function afterFailure(ctx: DeployContext, err: unknown): Promise<void> {
  const message = (err as Error).message;
  // The release exists only once `prepare` ran; a failure to take the lock must not touch it.
  if (ctx.notes.lock) {
    await updateRelease(ctx.host, ctx.paths, ctx.release.id, { status: 'failed', error: message, finishedAt: new Date().toISOString() }).catch(() => {});
    const me = await ctx.host.identity();
    await appendHistory(ctx.host, ctx.paths, {
      at: new Date().toISOString(), action: ctx.command, result: 'failed', release: ctx.release.id, from: ctx.previous?.id ?? null,
      user: me.user, host: me.hostname, error: message,
    }).catch(() => {});
    if (ctx.config.hooks.onFailure.length) {
      try {
        await runHook(ctx, 'onFailure');
      } catch (hookErr) {
        ctx.out.warn(`hooks.onFailure failed: ${(hookErr as Error).message}`);
      }
    }
  }
  const serving = ctx.switched ? ctx.release.id : ctx.previous?.id;
  const where = serving ? `the site still serves ${serving}` : 'nothing was serving before; nothing serves now';
  if (err instanceof StepFailed || err instanceof ZddError) {
    err.hint = [err.hint, where].filter(Boolean).join('; ');
  }
  ctx.out.summary(false, `deploy of ${ctx.release.id} failed; ${where}`);
}
