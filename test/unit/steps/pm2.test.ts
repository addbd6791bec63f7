/**
 * pm2-check, pm2 and verify on a RecordingHost (a host that is not this machine, so PM2 is its CLI
 * there): `command -v pm2`, the daemon's socket test and `pm2 jlist` are answered by the host's
 * rules; start/reload/delete are recorded.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StepFailed } from '../../../src/core/errors.js';
import type { ExecOptions } from '../../../src/host/types.js';
import type { RecordingHost } from '../../../src/host/recording.js';
import { verify } from '../../../src/steps/verify.js';
import { pm2 } from '../../../src/steps/pm2.js';
import { pm2Check } from '../../../src/steps/pm2-check.js';
import {
  BACKEND,
  DEPLOY_TO,
  answerPm2,
  callsTo,
  id,
  mutations,
  planAndRun,
  pointCurrent,
  putDir,
  stepConfig,
  stepContext,
  type Pm2Row,
} from '../../helpers/steps.js';

const ECOSYSTEM = `${DEPLOY_TO}/ecosystem.config.cjs`;

function pm2Context(
  rows: () => Pm2Row[],
  opts: { previousId?: string; releaseId?: string; backend?: Record<string, unknown>; healthcheck?: Record<string, unknown> } = {},
) {
  const s = stepContext({
    config: stepConfig({ backend: { ...BACKEND, env: { API_KEY: 'k' }, ...opts.backend }, healthcheck: { timeout: 1000, ...opts.healthcheck } }),
    releaseId: opts.releaseId ?? id(2),
    previousId: opts.previousId,
  });
  putDir(s.host, s.ctx.release.dir); // the release exists: built by this deploy, or kept for a rollback
  answerPm2(s.host, rows);
  return s;
}

/** The PM2 commands that change something (not the reads). */
const pm2Changes = (host: RecordingHost) => host.commands().filter((c) => c.startsWith('/usr/bin/pm2 ') && c !== '/usr/bin/pm2 jlist');

afterEach(() => {
  vi.useRealTimers();
});

describe('pm2-check', () => {
  it('PM2 does not know the app yet: passes, reading only', async () => {
    const { ctx, host } = pm2Context(() => []);
    const { plan, note } = await planAndRun(pm2Check, ctx);
    expect(plan.summary).toBe(`PM2 runs shop through ${DEPLOY_TO}/current in cluster mode, or not yet`);
    expect(note).toBe('not started yet');
    expect(host.commands()).toEqual(['sh -c command -v pm2', expect.stringMatching(/^sh -c test -S /), '/usr/bin/pm2 jlist']);
  });

  it('counts the instances that run through current in cluster mode (other apps ignored)', async () => {
    const { ctx } = pm2Context(() => [{ release: id(1) }, { release: id(1) }, { name: 'other-app', execPath: '/opt/other/app.js', execMode: 'fork_mode' }]);
    expect((await planAndRun(pm2Check, ctx)).note).toBe('2 instances');
  });

  it('refuses an app PM2 runs from a release path (a reload would keep that code), or in fork mode', async () => {
    const stale = pm2Context(() => [{ release: id(1), execPath: `${DEPLOY_TO}/releases/${id(1)}/backend/server.js` }]);
    const e1 = await planAndRun(pm2Check, stale.ctx).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(StepFailed);
    expect((e1 as StepFailed).message).toContain(`not through ${DEPLOY_TO}/current`);
    const fork = pm2Context(() => [{ release: id(1), execMode: 'fork_mode' }]);
    const e2 = await planAndRun(pm2Check, fork.ctx).catch((e: unknown) => e);
    expect((e2 as StepFailed).message).toContain('in fork mode');
    expect(mutations(fork.host).filter((m) => !m.startsWith('exec sh -c') && m !== 'exec /usr/bin/pm2 jlist')).toEqual([]);
  });

  it('skips without a backend', async () => {
    const { ctx, host } = stepContext();
    expect((await planAndRun(pm2Check, ctx)).plan.skip).toBe('no backend configured');
    expect(host.calls).toEqual([]);
  });
});

describe('pm2', () => {
  it('first deploy: writes the ecosystem file (ZDD_RELEASE, paths through current) and starts the app', async () => {
    const { ctx, host, paths } = pm2Context(() => []);
    const { plan, note } = await planAndRun(pm2, ctx);
    expect(plan.summary).toBe('start shop in cluster mode');
    expect(plan.actions).toEqual([`write ${ECOSYSTEM} (ZDD_RELEASE=${id(2)})`]);
    expect(note).toBe('started');
    expect(ctx.state.pm2Action).toBe('started');
    const eco = host.files.get(ECOSYSTEM)!;
    expect(eco).toContain(`"ZDD_RELEASE": "${id(2)}"`);
    expect(eco).toContain(`"script": "${DEPLOY_TO}/current/backend/server.js"`);
    expect(eco).toContain('"exec_mode": "cluster"');
    // Written 0600: it holds backend.env (secrets).
    expect(callsTo(host, 'writeFile')).toEqual([[ECOSYSTEM, eco, { mode: 0o600 }]]);
    expect(pm2Changes(host)).toEqual([`/usr/bin/pm2 start ${ECOSYSTEM} --only shop`]);
    const start = callsTo(host, 'exec').find(([argv]) => (argv as string[]).includes('start'))!;
    expect((start[1] as ExecOptions).cwd).toBe(paths.root);
  });

  it('with instances running: reloads them onto the new release, --only the app, --update-env', async () => {
    const { ctx, host } = pm2Context(() => [{ release: id(1) }, { release: id(1) }], { previousId: id(1) });
    const { plan, note } = await planAndRun(pm2, ctx);
    expect(plan.summary).toBe('reload shop (2 instances), one worker at a time');
    expect(note).toBe('reloaded');
    expect(host.files.get(ECOSYSTEM)).toContain(`"ZDD_RELEASE": "${id(2)}"`);
    expect(pm2Changes(host)).toEqual([`/usr/bin/pm2 reload ${ECOSYSTEM} --only shop --update-env`]);
  });

  it('puts zdd’s reload safety into the release when backend.reloadSafe is on', async () => {
    const { ctx, host, paths } = pm2Context(() => [], { backend: { reloadSafe: true } });
    await planAndRun(pm2, ctx);
    const file = path.join(paths.releases, id(2), 'reload-safe.cjs');
    expect(host.files.get(file)).toMatch(/reload-safety/);
    expect(host.files.get(ECOSYSTEM)).toContain(`"--require",\n        "${DEPLOY_TO}/current/reload-safe.cjs"`);
  });

  it('a new worker crashing at boot during the reload: current goes back at once, and the step fails', async () => {
    let reloading = false;
    const { ctx, host, paths } = pm2Context(() => (reloading ? [{ release: id(2), status: 'errored', restarts: 3 }] : [{ release: id(1), restarts: 0 }]), {
      previousId: id(1),
    });
    pointCurrent(host, ctx, id(2));
    // The reload takes a while in PM2; meanwhile jlist shows the new worker errored.
    const exec = host.exec.bind(host);
    host.exec = async (argv, opts) => {
      const r = await exec(argv, opts);
      if (argv.includes('reload')) {
        reloading = true;
        await new Promise((res) => setTimeout(res, 400));
      }
      return r;
    };
    const err = await planAndRun(pm2, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toMatch(new RegExp(`instance 0 of release ${id(2)} exited at boot under PM2 \\(errored, 3 restarts\\)`));
    expect(callsTo(host, 'symlinkAtomic')).toEqual([[`releases/${id(1)}`, paths.current]]);
    expect(host.links.get(paths.current)).toBe(`releases/${id(1)}`);
  });

  it('undo: current back to the previous release, PM2 reloaded onto it, and that verified', async () => {
    let on = id(2);
    const rows = () => [0, 1].map((pmId) => ({ pmId, release: on, uptime: Date.now() - 60_000 }));
    const { ctx, host, paths } = pm2Context(rows, { previousId: id(1) });
    answerPm2(host, rows, (line) => {
      if (line.includes(' reload ')) on = id(1);
      return undefined;
    });
    pointCurrent(host, ctx, id(2));
    await pm2.undo!(ctx);
    expect(callsTo(host, 'symlinkAtomic')).toEqual([[`releases/${id(1)}`, paths.current]]);
    expect(host.files.get(ECOSYSTEM)).toContain(`"ZDD_RELEASE": "${id(1)}"`);
    expect(pm2Changes(host)).toEqual([`/usr/bin/pm2 reload ${ECOSYSTEM} --only shop --update-env`]);
    expect(callsTo(host, 'httpGet').length).toBeGreaterThan(0);
  });

  it('undo fails (the switch-back is verified) when an instance stays on the release it left', async () => {
    const { ctx, host } = pm2Context(() => [{ release: id(2), uptime: Date.now() - 60_000 }], { previousId: id(1), backend: { readyTimeout: 1000 } });
    pointCurrent(host, ctx, id(2));
    const err = await pm2.undo!(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).step).toBe('undo pm2');
    expect((err as Error).message).toMatch(new RegExp(`instance 0 is online running ${id(2)}`));
  }, 15_000);

  it('undo of a first deploy: deletes the app from PM2 (tolerating failure)', async () => {
    const { ctx, host } = pm2Context(() => [{ release: id(2) }]);
    await pm2.undo!(ctx);
    expect(pm2Changes(host)).toEqual(['/usr/bin/pm2 delete shop']);
    expect(callsTo(host, 'exec').at(-1)![1]).toMatchObject({ reject: false });
    expect(callsTo(host, 'symlinkAtomic')).toEqual([]);
  });

  it('skips without a backend', async () => {
    const { ctx } = stepContext();
    expect((await planAndRun(pm2, ctx)).plan.skip).toBe('no backend configured');
  });
});

describe('verify', () => {
  it('every instance online on the release and the health check 2xx: passes, counting them', async () => {
    const { ctx, host } = pm2Context(() => [{ release: id(2) }, { release: id(2) }]);
    const { plan, note } = await planAndRun(verify, ctx);
    expect(plan.summary).toBe(`every instance online with ZDD_RELEASE=${id(2)}, GET /healthz on port 4100`);
    expect(note).toBe(`2 instances online on ${id(2)}, /healthz 2xx`);
    expect(ctx.state.instances).toBe(2);
    expect(callsTo(host, 'httpGet')).toEqual([['http://127.0.0.1:4100/healthz']]);
    // What status counts restarts from (record writes it into release.json as workersAtLive).
    expect(ctx.state.liveWorkers).toEqual([
      { pmId: 0, restarts: 0, uptimeStart: expect.any(Number) },
      { pmId: 1, restarts: 0, uptimeStart: expect.any(Number) },
    ]);
    expect(mutations(host).filter((m) => !m.startsWith('exec'))).toEqual([]);
  });

  it('an instance running another release: fails with that instance’s state', async () => {
    vi.useFakeTimers();
    const { ctx } = pm2Context(() => [
      { pmId: 0, release: id(2) },
      { pmId: 1, release: id(1) },
    ]);
    const plan = await verify.plan(ctx);
    const result = verify.run(ctx, plan).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(20_000);
    const err = await result;
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toBe(`instance 1 is online running ${id(1)}`);
    expect((err as StepFailed).hint).toBe('see `pm2 logs shop`');
  });

  it('an errored instance, or none at all: fails saying so', async () => {
    vi.useFakeTimers();
    for (const [rows, message] of [
      [[{ release: id(2) }, { pmId: 1, release: id(2), status: 'errored' }], `instance 1 is errored running ${id(2)}`],
      [[{ release: id(2) }], '1 of 2 instances online'],
      [[], 'PM2 runs no instance of the app'],
    ] as const) {
      const { ctx } = pm2Context(() => [...rows]);
      const result = verify.run(ctx, await verify.plan(ctx)).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(20_000);
      expect(((await result) as StepFailed).message).toBe(message);
    }
  });

  it('a restart loop (restarts climb while it is watched): fails', async () => {
    vi.useFakeTimers();
    let restarts = 0;
    const { ctx } = pm2Context(() => [
      { pmId: 0, release: id(2), restarts: restarts++, uptime: Date.now() },
      { pmId: 1, release: id(2) },
    ]);
    const result = verify.run(ctx, await verify.plan(ctx)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(((await result) as StepFailed).message).toMatch(/^restart loop: instance 0 online, \d+ restarts$/);
  });

  it('the health check never answers 2xx: fails with the last answer', async () => {
    const { ctx, host } = pm2Context(() => [{ release: id(2) }, { release: id(2) }], { healthcheck: { timeout: 1 } });
    host.http = () => ({ status: 503, body: 'warming up' });
    const err = await planAndRun(verify, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toBe('http://127.0.0.1:4100/healthz answered 503');
  });
});
