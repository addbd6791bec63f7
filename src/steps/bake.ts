/**
 * The bake: after verify, zdd keeps watching the new release for `rollout.bake` seconds (`--bake`)
 * before it records it ok. It watches what a release that answers its health check can still get
 * wrong: the health check itself, PM2 restarts and exits of the new workers, and the share of 5xx
 * answers the app gives on every route, counted inside the workers (runtime/answers.ts) and compared
 * with the release before, as measured when the switch came. A breach fails the step, and the
 * runner switches back as for any failure after the switch.
 */
import { StepFailed } from '../core/errors.js';
import type { AnswerTotals, BakeReport, DeployContext, Step } from '../core/types.js';
import type { Pm2Instance } from '../pm2/pm2.js';
import { instancesOf } from '../pm2/reload.js';
import { updateRelease } from '../releases/release.js';
import { askKeepOrSwitchBack } from './bake-prompt.js';
import { healthProblem } from './verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often it looks. The workers report their counts every 250 ms. */
const POLL_MS = 500;
/** Answers the bake must have seen before a 5xx share means anything. */
const MIN_ANSWERS = 20;
/** A breach: at least this share of 5xx, this many points above the release before, and twice its share. */
const MIN_RATE = 0.05;
/** Health checks that must fail in a row (one may be a blip of the machine). */
const HEALTH_FAILURES = 2;
/** A live line at most this often outside a terminal. */
const CI_LINE_MS = 2000;

export function bakeSeconds(ctx: DeployContext): number {
  return ctx.flags.bake ?? ctx.config.rollout.bake;
}

/** The answers of some workers, summed. */
export function totals(list: Pm2Instance[]): AnswerTotals {
  const counted = list.filter((i) => i.answers);
  return {
    answers: counted.reduce((n, i) => n + i.answers!.answers, 0),
    errors: counted.reduce((n, i) => n + i.answers!.errors, 0),
    counted: counted.length > 0,
  };
}

const pct = (r: number | null) => (r === null ? 'n/a' : `${Math.round(r * 1000) / 10}%`);
const secs = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Is this share of 5xx a breach against the release before? */
export function rateBreach(answers: number, errors: number, before: number | null): boolean {
  if (answers < MIN_ANSWERS) return false;
  const rate = errors / answers;
  const base = before ?? 0;
  return rate >= MIN_RATE && rate - base >= MIN_RATE && rate >= 2 * base;
}

export const bake: Step = {
  id: 'bake',
  async plan(ctx) {
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    const s = bakeSeconds(ctx);
    if (s === 0) return { skip: `${ctx.flags.bake === 0 ? '--bake 0' : 'rollout.bake is 0'}: recorded once verified`, summary: '' };
    return {
      summary: `watch ${ctx.release.id} for ${s} s: health check, PM2 restarts, 5xx share against the release before`,
      actions: [`switch back to ${ctx.previous?.id ?? 'nothing'} on a breach`],
    };
  },
  async run(ctx) {
    const seconds = bakeSeconds(ctx);
    const t0 = Date.now();
    const end = t0 + seconds * 1000;
    await updateRelease(ctx.host, ctx.paths, ctx.release.id, { bakingUntil: new Date(end).toISOString() }, ctx.out);
    const first = await instancesOf(ctx);
    const before = ctx.state.before;
    const rateBefore = before?.counted && before.answers > 0 ? before.errors / before.answers : before?.counted ? 0 : null;
    const report: BakeReport = { seconds, watchedMs: 0, answers: 0, errors: 0, rate: null, rateBefore, restarts: 0, result: 'ok' };
    ctx.state.bake = report;
    const counted = first.some((i) => i.answers);
    if (!counted) ctx.out.info('bake: the workers count no answers (backend.reloadSafe is off and no zdd/runtime): watching the health check and PM2 only');

    let healthFailures = 0;
    let lastLine = 0;
    let breach: string | undefined;
    for (;;) {
      if (ctx.interrupt.requested) {
        const keep = await askKeepOrSwitchBack(ctx);
        report.result = keep ? 'kept' : 'stopped';
        if (!keep) breach = `stopped by ${ctx.interrupt.signal ?? 'a signal'} during the bake`;
        break;
      }
      const list = await instancesOf(ctx);
      const elapsed = Date.now() - t0;
      // Restarts and exits of the new workers: a worker gone, not online, restarted or replaced.
      let restarts = 0;
      for (const s of first) {
        const now = list.find((i) => i.pmId === s.pmId);
        if (now?.status !== 'online') restarts++;
        else restarts += Math.max(now.restarts - s.restarts, now.pid !== s.pid ? 1 : 0);
      }
      report.restarts = restarts;
      // The new workers' answers count from their start, not from the bake's: what the release
      // answered during the reload and verify counts too (a release that fails at once is caught at
      // the first look); a worker that restarted counts from 0 again.
      const w = totals(list);
      report.answers = w.answers;
      report.errors = w.errors;
      report.rate = counted && w.answers > 0 ? w.errors / w.answers : null;
      if (restarts > 0) breach = `${restarts} restart${restarts === 1 ? '' : 's'} in ${secs(elapsed)}`;
      else if (counted && rateBreach(w.answers, w.errors, rateBefore)) breach = `5xx ${pct(report.rate)} over ${secs(elapsed)} vs ${pct(rateBefore)} before`;
      else {
        const sick = await healthProblem(ctx, 2000);
        healthFailures = sick ? healthFailures + 1 : 0;
        if (healthFailures >= HEALTH_FAILURES) breach = `${ctx.config.healthcheck.path} ${sick} (${healthFailures} checks in a row)`;
      }
      report.watchedMs = Date.now() - t0;
      if (breach || Date.now() >= end) break;
      const line = `${w.answers} answers, 5xx ${pct(report.rate)} (before ${pct(rateBefore)}), ${restarts} restarts, ${secs(end - Date.now())} left`;
      if (ctx.out.mode === 'tty' || Date.now() - lastLine >= CI_LINE_MS) {
        ctx.out.stepProgress('bake', line);
        lastLine = Date.now();
      }
      await sleep(Math.min(POLL_MS, Math.max(0, end - Date.now())));
    }
    report.watchedMs = Date.now() - t0;
    if (breach) {
      if (report.result === 'ok') report.result = 'breach';
      report.reason = breach;
      throw new StepFailed('bake', breach, { hint: `see \`pm2 logs ${ctx.config.app}\`; switching back to ${ctx.previous?.id ?? 'nothing'}` });
    }
    const figures = `${report.answers} answers, 5xx ${pct(report.rate)} (before ${pct(rateBefore)}), 0 restarts`;
    return report.result === 'kept' ? `cut short after ${secs(report.watchedMs)} and kept: ${figures}` : `${seconds} s: ${figures}`;
  },
};
