// Rows 9 of `npm run bench`: zero failed requests for writes and keep-alive clients, for any app.
// Every row runs under the three loads of test/helpers/load.ts startSiteLoad at once, keep-alive, no
// retries: POST /api/echo through Nginx (Nginx never retries a POST), GET /api/version straight at
// backend.port, GET / and /api/version through Nginx. Written to bench/results-zero-failed.md.
//   9a–9d  four apps, each: 3 deploys + 1 rollback + 2 switch-backs (a release that dies at boot
//          under PM2, one that fails verify), on a site of its own;
//   9e/9f  the same unmodified Express app: bare `pm2 reload` vs `zdd deploy`;
//   9g     the drain's quiet period (ZDD_QUIET_PERIOD) against failed requests and deploy time;
//   9h     a deploy of the example app: today's (the example's drain of BASELINE, reload safety off)
//          vs now, median of 3, interleaved.
import { execa } from 'execa';
import { cpus } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { breakHealthcheckUnderPm2, setVersion } from '../test/helpers/example.js';
import { failureKinds, type LoadReport, type SiteLoadOptions, type SiteLoadReport } from '../test/helpers/load.js';
import { repoRoot, tempPm2Home, type TempPm2Home } from '../test/helpers/pm2.js';
import { makeSite, type Site } from '../test/helpers/site.js';
import { expressBackendConfig, writeExpressBackend, type ExpressVariant } from '../test/helpers/third-party.js';

/** The commit whose example drain is "today" for row 9h (the last one before this work). */
const BASELINE = '856bf8e';
const POSTS_TARGET = 20_000;
const GETS_TARGET = 20_000;
const DEPLOY_COST_TARGET_MS = 500;
const LOAD: Partial<SiteLoadOptions> = {
  concurrency: { 'post-nginx': 4, 'get-direct': 4, 'get-nginx': 2 },
  maxDurationMs: 400_000,
  requestTimeoutMs: 15_000,
  maxFailuresKept: 1_000_000,
};
const resultsPath = join(repoRoot, 'bench', 'results-zero-failed.md');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const n = (x: number) => x.toLocaleString('en-US');

interface Row {
  id: string;
  what: string;
  report: SiteLoadReport;
  note: string;
  /** The row's own target, when it has one (the zdd rows: 0 failed, enough requests). */
  met?: boolean;
}
const rows: Row[] = [];
const sites: Site[] = [];
const homes: TempPm2Home[] = [];

afterAll(async () => {
  for (const h of homes) await h.kill().catch(() => {});
  for (const s of sites) await s.stop().catch(() => {});
  await writeFile(resultsPath, render());
  console.log(render());
});

type App = 'example' | ExpressVariant;

/** A site serving `app`, first release deployed (not measured). */
async function siteFor(app: App, backend: Record<string, unknown> = {}): Promise<Site> {
  const express = app !== 'example';
  const site = await makeSite({ version: 'r0', config: { backend: { ...(express ? expressBackendConfig : {}), killTimeout: 8000, ...backend } } });
  sites.push(site);
  if (express) await writeExpressBackend(join(site.app, 'backend'), app, 'r0');
  const r = await site.zdd(['deploy']);
  expect(r.exitCode, r.all).toBe(0);
  await sleep(1500); // the first deploy reloaded Nginx
  return site;
}

/** The backend file each break is written into, and how it starts. */
function entryOf(site: Site, app: App): string {
  return join(site.app, 'backend', app === 'example' ? 'server.js' : 'bin/www');
}

/** Make the release die at boot, but only in a PM2 worker (the canary passes). */
async function dieUnderPm2(site: Site, app: App): Promise<void> {
  const file = entryOf(site, app);
  const src = await readFile(file, 'utf8');
  const line = "if (process.env.NODE_APP_INSTANCE !== undefined) throw new Error('bench: broken under PM2');\n";
  // After a shebang line (bin/www) or 'use strict' (server.js): both stay first.
  const at = src.startsWith('#!') || src.startsWith("'use strict'") ? src.indexOf('\n') + 1 : 0;
  await writeFile(file, src.slice(0, at) + line + src.slice(at));
}

/** Make the health check fail, only in a PM2 worker: the reload completes, verify fails. */
async function unhealthyUnderPm2(site: Site, app: App): Promise<void> {
  if (app === 'example') {
    await breakHealthcheckUnderPm2(site.app);
    return;
  }
  const file = join(site.app, 'backend', 'app.js');
  const src = await readFile(file, 'utf8');
  await writeFile(
    file,
    src.replace(
      "app.get('/healthz', function (req, res) { res.send('ok'); });",
      "app.get('/healthz', function (req, res) { res.status(process.env.NODE_APP_INSTANCE !== undefined ? 500 : 200).send('x'); });",
    ),
  );
}

/** 3 deploys, 1 rollback, 2 switch-backs, all under one load. */
async function sequence(site: Site, app: App): Promise<{ report: SiteLoadReport; note: string }> {
  const backup = join(site.work, 'backend-backup');
  await execa('cp', ['-a', join(site.app, 'backend'), backup]);
  const restore = async () => {
    await execa('rm', ['-rf', join(site.app, 'backend')]);
    await execa('cp', ['-a', backup, join(site.app, 'backend')]);
  };
  const { value, report } = await site.underLoad(async () => {
    const ms: string[] = [];
    await sleep(500);
    for (let i = 1; i <= 3; i++) {
      await setVersion(site.app, `r${i}`);
      const r = await site.zdd(['deploy', '--json']);
      expect(r.exitCode, r.all).toBe(0);
      ms.push(sec(JSON.parse(r.stdout).durationMs));
    }
    const rb = await site.zdd(['rollback']);
    expect(rb.exitCode, rb.all).toBe(0);
    for (const [what, breakIt, step] of [
      ['dies at boot under PM2', dieUnderPm2, 'pm2 failed'],
      ['fails verify', unhealthyUnderPm2, 'verify failed'],
    ] as const) {
      await setVersion(site.app, `broken ${what}`);
      await breakIt(site, app);
      const r = await site.zdd(['deploy']);
      await restore();
      expect(r.exitCode, `${what}: ${r.all}`).toBe(1);
      expect(r.all, what).toContain(step);
    }
    await sleep(2000);
    return `deploys ${ms.join(', ')}`;
  }, LOAD);
  return { report, note: value };
}

const kinds = (r: SiteLoadReport) => r.kinds;
const failedText = (r: LoadReport) => `${n(r.failed)} of ${n(r.total)}`;
function why(r: SiteLoadReport): string {
  return (
    Object.entries(failureKinds(r))
      .map(([x, c]) => `${x} ×${c}`)
      .join(', ') || '—'
  );
}
const enough = (r: SiteLoadReport) => kinds(r)['post-nginx'].total >= POSTS_TARGET && kinds(r)['get-direct'].total >= GETS_TARGET;

describe('rows 9: zero failed requests for writes and keep-alive clients', () => {
  const apps: [string, App, string][] = [
    ['9a', 'example', 'the example app (examples/shop: its own ready and drain)'],
    ['9b', 'runtime', 'Express skeleton (express-generator) made reload-safe with zdd/runtime'],
    ['9c', 'unmodified', 'Express skeleton, unmodified: no ready, no SIGINT handler'],
    ['9d', 'own-close', 'Express skeleton whose SIGINT handler closes its server at once: server.close(() => process.exit(0))'],
  ];
  for (const [id, app, what] of apps) {
    it(`${id}: ${what} — 3 deploys, 1 rollback, 2 switch-backs`, async () => {
      const site = await siteFor(app);
      const { report, note } = await sequence(site, app);
      const met = report.failed === 0 && enough(report);
      rows.push({ id, what, report, note, met });
      await site.stop();
      sites.splice(sites.indexOf(site), 1);
      expect(report.failed, await Promise.resolve(why(report))).toBe(0);
      expect(enough(report), `POSTs ${kinds(report)['post-nginx'].total}, keep-alive GETs ${kinds(report)['get-direct'].total}`).toBe(true);
    }, 400_000);
  }

  it('9e/9f: the same unmodified Express app, zdd deploy vs a bare pm2 reload', async () => {
    const site = await siteFor('unmodified');
    const { report: zdd, value: zddMs } = await (async () => {
      const { value, report } = await site.underLoad(async () => {
        const ms: number[] = [];
        for (let i = 1; i <= 3; i++) {
          await setVersion(site.app, `z${i}`);
          const t0 = Date.now();
          const r = await site.zdd(['deploy']);
          expect(r.exitCode, r.all).toBe(0);
          ms.push(Date.now() - t0);
        }
        await sleep(2000);
        return ms;
      }, LOAD);
      return { report, value };
    })();
    rows.push({ id: '9e', what: 'unmodified Express app: `zdd deploy` (3 deploys)', report: zdd, note: `median ${sec(median(zddMs))}`, met: zdd.failed === 0 });

    // The same release, run by PM2 alone: cluster mode, 2 instances, no zdd in the workers.
    await site.pm2.kill();
    const bare = await tempPm2Home();
    homes.push(bare);
    const cwd = join(site.deployTo, 'current', 'backend');
    const eco = join(site.work, 'bare.config.cjs');
    const app = {
      name: 'bare',
      script: join(cwd, 'bin', 'www'),
      cwd,
      exec_mode: 'cluster',
      instances: 2,
      env: { PORT: String(site.backendPort), NODE_ENV: 'production' },
    };
    await writeFile(eco, `module.exports = ${JSON.stringify({ apps: [app] })};\n`);
    const pm2 = (args: string[]) => execa(join(repoRoot, 'node_modules', '.bin', 'pm2'), args, { env: bare.env, cwd: site.work, reject: false, all: true });
    expect((await pm2(['start', eco])).exitCode).toBe(0);
    await sleep(2000);
    const { value: bareMs, report: bareReport } = await site.underLoad(async () => {
      const ms: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        const r = await pm2(['reload', eco, '--update-env']);
        expect(r.exitCode, r.all).toBe(0);
        ms.push(Date.now() - t0);
        await sleep(1000);
      }
      await sleep(2000);
      return ms;
    }, LOAD);
    rows.push({
      id: '9f',
      what: 'the same app and release: bare `pm2 reload <ecosystem> --update-env` (3 reloads)',
      report: bareReport,
      note: `median ${sec(median(bareMs))}`,
    });
    expect(zdd.failed, why(zdd)).toBe(0);
  }, 400_000);

  it('9g: the quiet period of the drain, against failed requests and deploy time (unmodified Express app)', async () => {
    for (const quiet of [0, 50, 250, 1000]) {
      const site = await siteFor('unmodified', { env: { NODE_ENV: 'production', ZDD_QUIET_PERIOD: String(quiet) } });
      const { value: ms, report } = await site.underLoad(async () => {
        const t: number[] = [];
        for (let i = 1; i <= 3; i++) {
          await setVersion(site.app, `q${i}`);
          const r = await site.zdd(['deploy', '--json']);
          expect(r.exitCode, r.all).toBe(0);
          t.push(JSON.parse(r.stdout).timings.pm2);
        }
        await sleep(2000);
        return t;
      }, LOAD);
      rows.push({
        id: '9g',
        what: `quiet period ${quiet} ms (ZDD_QUIET_PERIOD), 3 deploys`,
        report,
        note: `pm2 step (reload of 2 workers) median ${sec(median(ms))}`,
      });
      await site.stop();
      sites.splice(sites.indexOf(site), 1);
    }
  }, 600_000);

  it('9h: a deploy of the example app, today (BASELINE drain, no reload safety) vs now, median of 3', async () => {
    const today = await siteFor('example', { reloadSafe: false });
    const before = (await execa('git', ['show', `${BASELINE}:examples/shop/backend/server.js`], { cwd: repoRoot })).stdout;
    await writeFile(join(today.app, 'backend', 'server.js'), `${before}\n`);
    const now = await siteFor('example');
    const times: Record<'today' | 'now', number[]> = { today: [], now: [] };
    const reports: Partial<Record<'today' | 'now', SiteLoadReport>> = {};
    // GETs only: the BASELINE app has no POST route.
    const load = { ...LOAD, concurrency: { 'post-nginx': 0, 'get-direct': 3, 'get-nginx': 3 } };
    for (let i = 1; i <= 3; i++) {
      for (const [k, site] of [
        ['today', today],
        ['now', now],
      ] as const) {
        const { value, report } = await site.underLoad(async () => {
          await setVersion(site.app, `t${i}`);
          const t0 = Date.now();
          const r = await site.zdd(['deploy']);
          expect(r.exitCode, r.all).toBe(0);
          return Date.now() - t0;
        }, load);
        times[k].push(value);
        reports[k] = reports[k] ? mergeReports(reports[k]!, report) : report;
      }
    }
    const cost = median(times.now) - median(times.today);
    rows.push({
      id: '9h',
      what: `example app deploy, today (${BASELINE}'s drain, backend.reloadSafe false)`,
      report: reports.today!,
      note: `median ${sec(median(times.today))} (${times.today.map(sec).join(', ')})`,
    });
    rows.push({
      id: '9h',
      what: 'example app deploy, now (defaults)',
      report: reports.now!,
      note: `median ${sec(median(times.now))} (${times.now.map(sec).join(', ')}); now − today = ${sec(cost)}, target ≤ ${sec(DEPLOY_COST_TARGET_MS)}`,
      met: cost <= DEPLOY_COST_TARGET_MS,
    });
  }, 400_000);
});

function mergeReports(a: SiteLoadReport, b: SiteLoadReport): SiteLoadReport {
  const k = {} as SiteLoadReport['kinds'];
  for (const key of Object.keys(a.kinds) as (keyof SiteLoadReport['kinds'])[]) {
    const x = a.kinds[key];
    const y = b.kinds[key];
    k[key] = { ...x, total: x.total + y.total, ok: x.ok + y.ok, failed: x.failed + y.failed, failures: [...x.failures, ...y.failures] };
  }
  return { ...a, total: a.total + b.total, ok: a.ok + b.ok, failed: a.failed + b.failed, failures: [...a.failures, ...b.failures], kinds: k };
}

function render(): string {
  const head = [
    'row',
    'what',
    'POST through Nginx: failed',
    'keep-alive GET at backend.port: failed',
    'GET through Nginx: failed',
    'failures by kind',
    'notes',
    'met?',
  ];
  const line = (c: string[]) => `| ${c.join(' | ')} |`;
  const out = [
    `# Rows 9: zero failed requests for writes and keep-alive clients`,
    '',
    `Node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString()}. Targets: the zdd rows (9a–9e) 0 failed with ≥ ${n(POSTS_TARGET)} POSTs and ≥ ${n(GETS_TARGET)} keep-alive GETs (9a–9d); 9h: now − today ≤ ${sec(DEPLOY_COST_TARGET_MS)}.`,
    '',
    line(head),
    line(head.map(() => '---')),
    ...rows.map((r) =>
      line([
        r.id,
        r.what,
        failedText(r.report.kinds['post-nginx']),
        failedText(r.report.kinds['get-direct']),
        failedText(r.report.kinds['get-nginx']),
        why(r.report),
        r.note,
        r.met === undefined ? '—' : r.met ? 'yes' : '**no**',
      ]),
    ),
    '',
  ];
  return out.join('\n');
}
