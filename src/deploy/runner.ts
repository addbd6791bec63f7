/**
 * Runs an ordered list of steps: plan, run, verify, timing and printing each; on failure it undoes
 * the completed steps in reverse, and at the end it always calls `cleanup` of every step that started.
 * `--dry-run` prints every step's plan and runs nothing.
 */
import { CommandFailed, EXIT, StepFailed, ZddError } from '../core/errors.js';
import type { DeployContext, Plan, AnyStep } from '../core/types.js';

export interface StepReport {
  id: string;
  status: 'done' | 'skipped' | 'failed' | 'undone' | 'planned';
  ms: number;
  note?: string;
  actions?: string[];
}

export class Interrupted extends ZddError {}

/** A step's error as StepFailed (exit 1), except errors that carry another exit code (locked: 3, usage: 2). */
function asStepFailed(step: string, err: unknown): ZddError {
  if (err instanceof StepFailed) return err;
  if (err instanceof ZddError && err.exitCode !== EXIT.failed) return err;
  if (err instanceof CommandFailed) return new StepFailed(step, err.message, { tail: err.tail, hint: err.hint, cause: err });
  if (err instanceof ZddError) return new StepFailed(step, err.message, { hint: err.hint, cause: err });

  const e = err as NodeJS.ErrnoException;
  const msg = e?.code && e.path ? `${e.code}: ${e.message}` : (e?.message ?? String(err));
  return new StepFailed(step, msg, { cause: err });
}

export async function planSteps(steps: AnyStep[], ctx: DeployContext): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  for (const step of steps) {
    const plan: Plan = await step.plan(ctx);
    if (plan.skip) ctx.out.stepSkipped(step.id, plan.skip);
    else {
      ctx.out.info(`${ctx.out.colors.bold(step.id)}: ${plan.summary}`);
      for (const a of plan.actions ?? []) ctx.out.info(`    ${a}`);
    }
    reports.push({ id: step.id, status: plan.skip ? 'skipped' : 'planned', ms: 0, note: plan.skip ?? plan.summary, actions: plan.actions });
  }
  return reports;
}

/**
 * The steps run so far for one context: `run` may be called several times (a multi-host deploy runs
 * its phases one after another on each host), `undo` reverts every completed step in reverse, and
 * `cleanup` calls each started step's cleanup once.
 */
export class StepSession {
  readonly reports: StepReport[] = [];
  private done: AnyStep[] = [];
  private started: AnyStep[] = [];
  constructor(readonly ctx: DeployContext) {}

  /** Run `steps` in order; a failure is reported, recorded and thrown (nothing is undone here). */
  async run(steps: AnyStep[]): Promise<void> {
    const { ctx, reports } = this;
    for (const step of steps) {
      if (ctx.interrupt.requested && !ctx.switched) {
        throw new Interrupted(`stopped by ${ctx.interrupt.signal ?? 'a signal'} before ${step.id}`);
      }
      const t0 = performance.now();
      let plan: Plan;
      try {
        plan = await step.plan(ctx);
      } catch (err) {
        const ms = performance.now() - t0;
        ctx.out.stepFailed(step.id, ms, (err as Error).message);
        reports.push({ id: step.id, status: 'failed', ms });
        throw asStepFailed(step.id, err);
      }
      if (plan.skip) {
        ctx.out.stepSkipped(step.id, plan.skip);
        reports.push({ id: step.id, status: 'skipped', ms: 0, note: plan.skip });
        continue;
      }
      ctx.out.stepStart(step.id, plan.summary);
      if (!this.started.includes(step)) this.started.push(step);
      this.beginAlongside(steps, step);
      try {
        const note = await step.run(ctx, plan);
        if (step.verify) await step.verify(ctx);
        const ms = performance.now() - t0;
        ctx.timings[step.id] = Math.round(ms);
        this.done.push(step);
        ctx.out.stepDone(step.id, ms, note || undefined);
        reports.push({ id: step.id, status: 'done', ms: Math.round(ms), note: note || undefined });
      } catch (err) {
        const ms = performance.now() - t0;
        ctx.timings[step.id] = Math.round(ms);
        // The step may have half-run: its undo must be safe on a partial state.
        this.done.push(step);
        const failure =
          ctx.interrupt.requested && !ctx.switched
            ? new Interrupted(`stopped by ${ctx.interrupt.signal ?? 'a signal'} during ${step.id}`)
            : asStepFailed(step.id, err);
        ctx.out.stepFailed(step.id, ms, failure.message);
        reports.push({ id: step.id, status: 'failed', ms: Math.round(ms) });
        throw failure;
      }
    }
  }

  /** Steps that begin with `step` (the story's `beginsWith`) start their work now and run alongside it. */
  private beginAlongside(steps: AnyStep[], step: AnyStep): void {
    for (const later of steps) {
      if (later.beginsWith !== step.id || !later.begin || this.started.includes(later)) continue;
      later.begin(this.ctx);
      // Started: its cleanup runs even when `step` fails before `later` is reached.
      this.started.push(later);
    }
  }

  async undo(): Promise<void> {
    const done = this.done;
    this.done = [];
    await undoSteps(done, this.ctx, this.reports);
  }

  async cleanup(): Promise<void> {
    const started = this.started;
    this.started = [];
    for (const step of [...started].reverse()) {
      if (!step.cleanup) continue;
      try {
        await step.cleanup(this.ctx);
      } catch (err) {
        this.ctx.out.warn(`cleanup of ${step.id} failed: ${(err as Error).message}`);
      }
    }
  }
}

export async function runSteps(steps: AnyStep[], ctx: DeployContext): Promise<StepReport[]> {
  const session = new StepSession(ctx);
  try {
    await session.run(steps);
    return session.reports;
  } catch (err) {
    await session.undo();
    throw Object.assign(err as object, { reports: session.reports });
  } finally {
    await session.cleanup();
  }
}

async function undoSteps(done: AnyStep[], ctx: DeployContext, reports: StepReport[]): Promise<void> {
  for (const step of [...done].reverse()) {
    if (!step.undo) continue;
    const t0 = performance.now();
    ctx.out.stepStart(`undo ${step.id}`);
    try {
      await step.undo(ctx);
      const ms = performance.now() - t0;
      ctx.out.stepDone(`undo ${step.id}`, ms);
      reports.push({ id: `undo ${step.id}`, status: 'undone', ms: Math.round(ms) });
    } catch (err) {
      const ms = performance.now() - t0;
      ctx.out.stepFailed(`undo ${step.id}`, ms, (err as Error).message);
      reports.push({ id: `undo ${step.id}`, status: 'failed', ms: Math.round(ms) });
    }
  }
}
