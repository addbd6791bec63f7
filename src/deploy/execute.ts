/**
 * What deploy and rollback share once their context is built: print the plan (`--dry-run`) or run the
 * steps with Ctrl-C handling, then report the outcome in one place — the summary line, which release
 * the site serves, the history entry of a failure, and the JSON parts.
 */
import { EXIT, ZddError } from '../core/errors.js';
import type { CommandResult } from '../commands/common.js';
import { formatMs } from '../output/reporter.js';
import { planSteps, runSteps, type StepReport } from './runner.js';
import type { DeployContext, AnyStep } from '../core/types.js';
import { trapSignals } from './context.js';
import { appendHistory, runEntry } from '../releases/release.js';
import { closePm2 } from '../pm2/reload.js';

export function releaseJson(ctx: DeployContext) {
  return { id: ctx.release.id, dir: ctx.release.dir, previous: ctx.previous?.id ?? null, ...(ctx.state.bake ? { bake: ctx.state.bake } : {}) };
}

export function stepsJson(reports: StepReport[] | undefined) {
  return (reports ?? []).map((r) => ({
    id: r.id,
    status: r.status,
    ms: r.ms,
    ...(r.note ? { note: r.note } : {}),
    ...(r.actions ? { actions: r.actions } : {}),
  }));
}

export interface Execution {
  /** `deployed shop 2026…` / `rolled back shop to 2026…` (the duration is appended). */
  done: string;
  /** `deploy of 2026…` / `rollback to 2026…` (`failed; <where>` is appended). */
  what: string;
  /** Extra JSON fields for every outcome. */
  json?: Record<string, unknown>;
  /** After the steps succeeded (a failure here is reported; the result stands). */
  afterSuccess?: () => Promise<void>;
  /** After the steps failed and were undone, while the failure is recorded (only once the lock was ours). */
  afterFailure?: (message: string) => Promise<void>;
}

export async function executeSteps(ctx: DeployContext, steps: AnyStep[], run: Execution): Promise<CommandResult> {
  if (ctx.flags.dryRun) {
    let reports: Awaited<ReturnType<typeof planSteps>>;
    try {
      reports = await planSteps(steps, ctx);
    } finally {
      await closePm2(ctx);
    }
    ctx.out.summary(true, 'dry run: nothing was changed');
    return { exitCode: EXIT.ok, json: { dryRun: true, release: releaseJson(ctx), ...run.json, steps: stepsJson(reports) } };
  }

  const untrap = trapSignals(ctx);
  try {
    const reports = await runSteps(steps, ctx);
    await run.afterSuccess?.();
    const total = Date.now() - ctx.startedAt.getTime();
    ctx.out.summary(true, `${run.done} in ${formatMs(total)}${ctx.previous ? ` (was ${ctx.previous.id})` : ''}`);
    if (ctx.interrupt.requested) ctx.out.warn(`interrupted after the switch: ${ctx.release.id} was verified and is live`);
    return { exitCode: EXIT.ok, json: { release: releaseJson(ctx), ...run.json, steps: stepsJson(reports), timings: ctx.timings } };
  } catch (err) {
    await recordFailure(ctx, err, run);
    const reports = (err as { reports?: StepReport[] }).reports;
    // The CLI merges `json` into its document.
    throw Object.assign(err as object, { json: { release: releaseJson(ctx), ...run.json, steps: stepsJson(reports) } });
  } finally {
    untrap();
    await closePm2(ctx);
  }
}

async function recordFailure(ctx: DeployContext, err: unknown, run: Execution): Promise<void> {
  const message = (err as Error).message;
  // Only a run that took the lock touched anything; a refused lock must not write.
  if (ctx.state.lock) {
    await run.afterFailure?.(message);
    const me = await ctx.host.identity();
    await appendHistory(ctx.host, ctx.paths, runEntry(ctx, me, { result: 'failed', error: message })).catch(() => {});
  }
  const serving = ctx.switched ? ctx.release.id : ctx.previous?.id;
  const where = serving ? `the site still serves ${serving}` : 'nothing was serving before; nothing serves now';
  // A refused lock or a usage error changed nothing: their own message says enough.
  if (err instanceof ZddError && err.exitCode === EXIT.failed) err.hint = [err.hint, where].filter(Boolean).join('; ');
  ctx.out.summary(false, `${run.what} failed; ${where}`);
}
