/**
 * The bake step on a RecordingHost: `pm2 jlist` answers rows that change over the bake (the workers'
 * answer counts, restarts, pids), the health check answers through `host.http`. A breach fails the
 * step with its reason (the runner then switches back); a quiet bake returns its figures.
 */
import { describe, expect, it } from 'vitest';
import { StepFailed } from '../../../src/core/errors.js';
import { bake, rateBreach, totals } from '../../../src/steps/bake.js';
import { BACKEND, answerPm2, id, planAndRun, putDir, stepConfig, stepContext, type Pm2Row } from '../../helpers/steps.js';

const NEW = id(2);

function bakeContext(rows: (elapsedMs: number) => Pm2Row[], opts: { bake?: number; before?: { answers: number; errors: number } } = {}) {
  const s = stepContext({ config: stepConfig({ backend: { ...BACKEND } }), releaseId: NEW, previousId: id(1), flags: { bake: opts.bake ?? 1.2 } });
  putDir(s.host, s.ctx.release.dir);
  s.host.files.set(`${s.ctx.release.dir}/release.json`, JSON.stringify({ id: NEW, status: 'building' }));
  const t0 = Date.now();
  answerPm2(s.host, () => rows(Date.now() - t0));
  if (opts.before) s.ctx.state.before = { ...opts.before, counted: true };
  return s;
}

const two = (answers: [number, number], errors: [number, number], extra: Partial<Pm2Row> = {}): Pm2Row[] => [
  { pmId: 0, release: NEW, answers: { answers: answers[0], errors: errors[0] }, ...extra },
  { pmId: 1, release: NEW, answers: { answers: answers[1], errors: errors[1] } },
];

describe('bake', () => {
  it('skips when the bake is 0 (--bake 0 or rollout.bake 0), or there is no backend', async () => {
    const { ctx } = bakeContext(() => [], { bake: 0 });
    expect((await bake.plan(ctx)).skip).toBe('--bake 0: recorded once verified');
    ctx.flags.bake = undefined;
    ctx.config.rollout.bake = 0;
    expect((await bake.plan(ctx)).skip).toBe('rollout.bake is 0: recorded once verified');
  });

  it('a quiet release: watches the whole window, writes bakingUntil, and returns its figures', async () => {
    const { ctx, host } = bakeContext((ms) => two([10 + Math.floor(ms / 10), 10 + Math.floor(ms / 10)], [0, 0]), { before: { answers: 1000, errors: 0 } });
    const t0 = Date.now();
    const { note } = await planAndRun(bake, ctx);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1200);
    expect(note).toMatch(/^1\.2 s: \d+ answers, 5xx 0% \(before 0%\), 0 restarts$/);
    expect(ctx.state.bake).toMatchObject({ seconds: 1.2, result: 'ok', restarts: 0, rateBefore: 0, rate: 0 });
    expect(ctx.state.bake!.answers).toBeGreaterThan(100);
    expect(JSON.parse(host.files.get(`${ctx.release.dir}/release.json`)!).bakingUntil).toMatch(/^\d{4}-/);
  });

  it('5xx well above the release before: a breach naming the share, the time and the share before', async () => {
    // From 300 ms on, half of what the workers answer is a 5xx.
    const { ctx } = bakeContext(
      (ms) => {
        const n = Math.floor(ms / 5);
        const bad = ms > 300 ? Math.floor((ms - 300) / 10) : 0;
        return two([n, n], [bad, bad]);
      },
      { bake: 5, before: { answers: 1000, errors: 10 } },
    );
    const t0 = Date.now();
    const err = await planAndRun(bake, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as Error).message).toMatch(/^5xx \d+(\.\d)?% over \d(\.\d)? s vs 1% before$/);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(ctx.state.bake).toMatchObject({ result: 'breach', rateBefore: 0.01 });
  });

  it('a worker that restarts (PM2 restarted it: restarts up, another pid) is a breach', async () => {
    const { ctx } = bakeContext((ms) => (ms > 400 ? two([5, 5], [0, 0], { restarts: 1, pid: 2000 }) : two([5, 5], [0, 0])), { bake: 5 });
    const err = await planAndRun(bake, ctx).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^1 restart in \d(\.\d)? s$/);
    expect(ctx.state.bake).toMatchObject({ result: 'breach', restarts: 1 });
  });

  it('a health check that keeps failing is a breach, even with no answers counted', async () => {
    const { ctx, host } = bakeContext(() => [{ pmId: 0, release: NEW }], { bake: 5 });
    let calls = 0;
    host.http = () => (++calls > 1 ? { status: 500, body: 'no' } : { status: 200, body: 'ok' });
    const err = await planAndRun(bake, ctx).catch((e: unknown) => e);
    expect((err as Error).message).toBe('/healthz answered 500 (2 checks in a row)');
  });

  it('a breach needs enough answers, 5 points above the release before and twice its share', () => {
    expect(rateBreach(10, 10, 0)).toBe(false); // too few answers to tell
    expect(rateBreach(100, 4, 0)).toBe(false); // 4 %
    expect(rateBreach(100, 6, 0)).toBe(true);
    expect(rateBreach(100, 12, 0.08)).toBe(false); // 12 % vs 8 % before: not 5 points above
    expect(rateBreach(100, 30, 0.2)).toBe(false); // not twice the share before
    expect(rateBreach(100, 45, 0.2)).toBe(true);
    expect(totals([{ answers: { answers: 3, errors: 1 } }, {}, { answers: { answers: 4, errors: 0 } }] as never)).toEqual({
      answers: 7,
      errors: 1,
      counted: true,
    });
    expect(totals([{}] as never)).toEqual({ answers: 0, errors: 0, counted: false });
  });
});
