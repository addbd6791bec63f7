// `npm run bench`: zdd vs the usual ways of restarting the example app, measured in one run on a real
// Nginx (loopback) and real PM2 daemons (temp PM2_HOMEs), under constant no-retry load through Nginx.
// Prints a markdown table and writes it to bench/results.md. Every number in it is measured here.
import { execa } from 'execa';
import { cpus } from 'node:os';
import { readdirSync, statSync } from 'node:fs';
import { lstat, readFile, readdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakBackendAtBoot, setVersion } from '../test/helpers/example.js';
import { failureKinds, httpGet, type LoadReport, type SiteLoadHandle } from '../test/helpers/load.js';
import { pm2Bin, repoRoot, tempPm2Home, type TempPm2Home } from '../test/helpers/pm2.js';
import { makeSite, zddBin, type Site } from '../test/helpers/site.js';

const PATHS = ['/', '/api/version'];
// 6 loops in all, as before: POSTs through Nginx, keep-alive GETs at backend.port, GETs through Nginx.
const CONCURRENCY = { 'post-nginx': 2, 'get-direct': 2, 'get-nginx': 2 };
const DEPLOYS = 3; // v1 -> v2 -> v3 -> v4 under load (v1 is the first deploy, not measured)
const RUNS = 3; // rollbacks and bare reloads, interleaved
const TRAD_RESTARTS = 2;
const PRE_MS = 500; // load before the operation starts
const SETTLE_MS = 2000; // load after the operation returned (a fork-mode restart returns before the app listens)
const BROKEN_WATCH_MS = 10_000; // load after the bare reload of a broken build
const OVERHEAD_TARGET_MS = 1000;
const ROLLBACK_RATIO_TARGET = 1.2;
const FAST_RUNS = 2; // rows 6: full / no-change / one-file backend change / --force, interleaved
const NOOP_RATIO_TARGET = 0.3;
const BACKEND_CHANGE_RATIO_TARGET = 0.5;
const DISK_PCT_TARGET = 5;
const resultsPath = join(repoRoot, 'bench', 'results.md');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Newest mtime under dist/: the CLI measured here is dist/, which others may rebuild during the run. */
function distStamp(): number {
  const dir = join(repoRoot, 'dist');
  try {
    return Math.max(0, ...(readdirSync(dir, { recursive: true }) as string[]).map((f) => statSync(join(dir, f)).mtimeMs));
  } catch {
    return 0;
  }
}
let distAtStart = distStamp(); // taken again once the set-up deploy is done
let distAtEnd: number | undefined; // taken after the last row that runs zdd
let head = '?';

interface Window {
  requests: number;
  failed: number;
  kinds: Record<string, number>;
}
interface Timed {
  ms: number;
  window: Window;
}
interface DeployRun extends Timed {
  steps: Record<string, number>;
  durationMs: number;
}
interface FastRun extends DeployRun {
  id: string;
  reused: Record<string, string>;
  /** Bytes the release added to the deploy root (files no other release links to). */
  addedBytes?: number;
  noop?: boolean;
}
interface RollbackRun extends Timed {
  timings: Record<string, number>;
  durationMs: number;
}

const results = {
  deploys: [] as DeployRun[],
  /** The same kind of deploy with no load generator running: zdd's overhead without CPU contention. */
  quietDeploys: [] as Omit<DeployRun, 'window'>[],
  trad: [] as Timed[],
  brokenReload: undefined as (Timed & { exitCode: number; after: string }) | undefined,
  brokenDeploy: undefined as (Timed & { exitCode: number; step: string | undefined }) | undefined,
  rollbacks: [] as RollbackRun[],
  bareReloads: [] as Timed[],
  jlist: [] as number[],
  fast: { full: [] as FastRun[], noop: [] as FastRun[], backend: [] as FastRun[], forced: [] as FastRun[] },
  errors: {} as Record<string, string>,
};

/**
 * Bytes of the regular files under `root`, each inode once (hard links count once), leaving out
 * `skip` (a folder). What a release adds = du(root) − du(root without that release).
 */
async function du(root: string, skip?: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    if (dir === skip) return;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(p);
      else if (st.isFile() && !seen.has(`${st.dev}:${st.ino}`)) {
        seen.add(`${st.dev}:${st.ino}`);
        total += st.size;
      }
    }
  };
  await walk(root);
  return total;
}

function windowOf(r: LoadReport): Window {
  // The load it came from (post-nginx, get-direct, get-nginx), then the status or the error.
  return { requests: r.total, failed: r.failed, kinds: failureKinds(r) };
}

function merge(ws: Window[]): Window {
  const kinds: Record<string, number> = {};
  for (const w of ws) for (const [k, n] of Object.entries(w.kinds)) kinds[k] = (kinds[k] ?? 0) + n;
  return { requests: sum(ws.map((w) => w.requests)), failed: sum(ws.map((w) => w.failed)), kinds };
}

const kindsText = (w: Window) =>
  Object.entries(w.kinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ') || '—';

// The user's own commands: the installs before the builds (install-frontend, install-backend-build) run them too.
const USER_STEPS = ['install-frontend', 'install-backend-build', 'build-frontend', 'build-backend', 'install', 'hooks', 'nginx-test', 'nginx-reload'];

describe('zdd bench (real PM2 + Nginx on loopback, under load)', () => {
  let site: Site | undefined;
  let trad: TempPm2Home | undefined;
  const loads = new Set<SiteLoadHandle>();
  let ecosystem = '';

  async function zdd(args: string[]) {
    const t0 = performance.now();
    const r = await execa(process.execPath, [zddBin, ...args, '--config', site!.configPath], {
      env: site!.env,
      cwd: site!.app,
      reject: false,
      timeout: 180_000,
    });
    const ms = performance.now() - t0;
    let json: any;
    try {
      json = JSON.parse(String(r.stdout));
    } catch {
      json = undefined;
    }
    return { exitCode: r.exitCode ?? -1, json, ms, out: `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`.slice(-4000) };
  }

  async function pm2(env: NodeJS.ProcessEnv, args: string[]) {
    const t0 = performance.now();
    const r = await execa(pm2Bin, args, { env, cwd: site!.deployTo, reject: false, all: true, timeout: 120_000 });
    return { exitCode: r.exitCode ?? -1, ms: performance.now() - t0, out: String(r.all).slice(-3000) };
  }

  /** Constant load through Nginx around `op`: PRE_MS before, `afterMs` after it returns. */
  async function underLoad<T extends { ms: number }>(op: () => Promise<T>, afterMs = SETTLE_MS): Promise<T & { window: Window }> {
    const load = site!.load({ nginxPaths: PATHS, concurrency: CONCURRENCY, maxDurationMs: 180_000, requestTimeoutMs: 15_000, maxFailuresKept: 1_000_000 });
    loads.add(load);
    try {
      await sleep(PRE_MS);
      const value = await op();
      await sleep(afterMs);
      return { ...value, window: windowOf(await load.stop()) };
    } finally {
      await load.stop();
      loads.delete(load);
    }
  }

  async function phase(name: string, body: () => Promise<void>) {
    try {
      await body();
    } catch (err) {
      // The tail of the message: an assertion's own text comes last, after the command output.
      results.errors[name] = (err as Error).message
        .replace(/\x1b\[[0-9;]*m/g, '')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(-300);
      throw err;
    }
  }

  beforeAll(async () => {
    await phase('setup', async () => {
      site = await makeSite({ version: 'v1' }); // the example's own config: 2 instances
      ecosystem = join(site.deployTo, 'ecosystem.config.cjs');
      const r = await zdd(['deploy', '--json']);
      expect(r.exitCode, r.out).toBe(0);
      // The first deploy reloads Nginx (nothing was served before): let its old workers go.
      await sleep(1500);
      distAtStart = distStamp();
      const git = await execa('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { reject: false });
      head = String(git.stdout).trim() || '?';
    });
  });

  afterAll(async () => {
    for (const l of loads) await l.stop().catch(() => {});
    await trad?.kill().catch(() => {});
    await site?.stop().catch(() => {});
    const table = renderTable();
    await writeFile(resultsPath, table).catch(() => {});
    console.log(`\n${table}`);
  });

  it('1 + 5: zdd deploys under load, with their step timings', async () => {
    await phase('deploy', async () => {
      for (let i = 0; i < DEPLOYS; i++) {
        const v = `v${i + 2}`;
        await setVersion(site!.app, v);
        const r = await underLoad(() => zdd(['deploy', '--json']));
        expect(r.exitCode, r.out).toBe(0);
        const id = r.json.release.id as string;
        const rel = JSON.parse(await readFile(join(site!.deployTo, 'releases', id, 'release.json'), 'utf8'));
        results.deploys.push({ ms: r.ms, window: r.window, steps: { ...r.json.timings, ...rel.steps }, durationMs: r.json.durationMs });
        expect(await site!.served()).toMatchObject({ page: v, api: v });
      }
      // The same deploys without the load generator: on 2 cores it competes with zdd for the CPU.
      for (let i = 0; i < DEPLOYS; i++) {
        const v = `quiet-${i + 1}`;
        await setVersion(site!.app, v);
        const r = await zdd(['deploy', '--json']);
        expect(r.exitCode, r.out).toBe(0);
        const rel = JSON.parse(await readFile(join(site!.deployTo, 'releases', r.json.release.id, 'release.json'), 'utf8'));
        results.quietDeploys.push({ ms: r.ms, steps: { ...r.json.timings, ...rel.steps }, durationMs: r.json.durationMs });
      }
    });
  });

  it('6: fast deploys: full (--no-cache) vs no-change vs one-file backend change vs --force, interleaved', async () => {
    await phase('fast', async () => {
      const releaseDir = (id: string) => join(site!.deployTo, 'releases', id);
      const added = async (id: string) => (await du(site!.deployTo)) - (await du(site!.deployTo, releaseDir(id)));
      const run = async (args: string[]): Promise<FastRun> => {
        const r = await underLoad(() => zdd([...args, '--json']));
        expect(r.exitCode, r.out).toBe(0);
        const id = r.json.release.id as string;
        if (r.json.noop) return { ms: r.ms, window: r.window, steps: {}, durationMs: r.json.durationMs, id, reused: {}, noop: true };
        const rel = JSON.parse(await readFile(join(releaseDir(id), 'release.json'), 'utf8'));
        return { ms: r.ms, window: r.window, steps: { ...r.json.timings, ...rel.steps }, durationMs: r.json.durationMs, id, reused: rel.reused ?? {} };
      };
      for (let i = 0; i < FAST_RUNS; i++) {
        // A full deploy: a new version of both parts, built and installed from scratch.
        const v = `full-${i}`;
        await setVersion(site!.app, v);
        const full = await run(['deploy', '--no-cache']);
        full.addedBytes = await added(full.id);
        results.fast.full.push(full);
        expect(await site!.served()).toMatchObject({ page: v, api: v });
        // The same again: nothing changed.
        const noop = await run(['deploy']);
        expect(noop.noop, 'a no-change deploy must be a no-op').toBe(true);
        results.fast.noop.push(noop);
        // One file of the backend changed.
        const b = `backend-${i}`;
        await writeFile(join(site!.app, 'backend', 'version.json'), `${JSON.stringify({ version: b }, null, 2)}\n`);
        const one = await run(['deploy']);
        results.fast.backend.push(one);
        expect(one.reused).toMatchObject({ frontend: expect.any(String), install: expect.any(String) });
        expect(await site!.served()).toMatchObject({ page: v, api: b });
        // A new release of the same inputs: what it costs on disk.
        const forced = await run(['deploy', '--force']);
        forced.addedBytes = await added(forced.id);
        results.fast.forced.push(forced);
        expect(forced.reused).toMatchObject({ frontend: one.id, backend: one.id, install: one.id });
      }
    });
  });

  it('4: zdd rollback vs a bare pm2 reload of the same app, interleaved', async () => {
    await phase('rollback', async () => {
      for (let i = 0; i < RUNS; i++) {
        const bare = await underLoad(() => pm2(site!.env, ['reload', ecosystem, '--update-env']));
        expect(bare.exitCode, bare.out).toBe(0);
        results.bareReloads.push({ ms: bare.ms, window: bare.window });
        const rb = await underLoad(() => zdd(['rollback', '--json']));
        expect(rb.exitCode, rb.out).toBe(0);
        results.rollbacks.push({ ms: rb.ms, window: rb.window, timings: rb.json.timings ?? {}, durationMs: rb.json.durationMs });
        // One `pm2 jlist` (zdd runs several per rollback: pm2 plan and run, verify), same conditions.
        const jl = await underLoad(() => pm2(site!.env, ['jlist']), 0);
        expect(jl.exitCode, jl.out).toBe(0);
        results.jlist.push(jl.ms);
      }
    });
  });

  it('3b: zdd deploy of a build that throws at boot stops at the canary', async () => {
    await phase('broken-deploy', async () => {
      const serverPath = join(site!.app, 'backend', 'server.js');
      const serverJs = await readFile(serverPath, 'utf8');
      try {
        await setVersion(site!.app, 'broken-boot');
        await breakBackendAtBoot(site!.app);
        const r = await underLoad(() => zdd(['deploy', '--json']));
        results.brokenDeploy = { ms: r.ms, window: r.window, exitCode: r.exitCode, step: r.json?.error?.step };
        expect(r.exitCode, r.out).toBe(1);
        expect(r.json?.error?.step, r.out).toBe('canary');
      } finally {
        await writeFile(serverPath, serverJs);
        await setVersion(site!.app, 'v-after');
        distAtEnd = distStamp(); // rows 3a and 2 do not run zdd
      }
    });
  });

  it('3a: a bare pm2 reload of the same broken build, in place', async () => {
    await phase('broken-reload', async () => {
      const release = await realpath(join(site!.deployTo, 'current'));
      const serverPath = join(release, 'backend', 'server.js');
      const serverJs = await readFile(serverPath, 'utf8');
      try {
        await breakBackendAtBoot(release); // <release>/backend/server.js now throws at boot
        const r = await underLoad(() => pm2(site!.env, ['reload', ecosystem, '--update-env']), BROKEN_WATCH_MS);
        const list = await execa(pm2Bin, ['jlist'], { env: site!.env, cwd: site!.deployTo, reject: false });
        let after = '?';
        try {
          const line = String(list.stdout)
            .split('\n')
            .reverse()
            .find((l) => l.startsWith('['));
          const apps = JSON.parse(line ?? '[]') as any[];
          after = apps.map((a) => `${a.pm2_env?.status} (${a.pm2_env?.restart_time} restarts)`).join(', ');
        } catch {
          /* keep '?' */
        }
        results.brokenReload = { ms: r.ms, window: r.window, exitCode: r.exitCode, after };
      } finally {
        await writeFile(serverPath, serverJs);
      }
      // The cluster is in a restart loop now: stop this PM2 entirely so the port is free for the next row.
      await site!.pm2.kill();
    });
  });

  it('2: a traditional restart (PM2 fork mode, pm2 restart) of the same app', async () => {
    await phase('traditional', async () => {
      trad = await tempPm2Home();
      const env = { ...trad.env, PORT: String(site!.backendPort), NODE_ENV: 'production' };
      const script = join(site!.deployTo, 'current', 'backend', 'server.js');
      const start = await pm2(env, ['start', script, '--name', 'trad']);
      expect(start.exitCode, start.out).toBe(0);
      let up = false;
      for (let i = 0; i < 50 && !up; i++) {
        up = await httpGet(`${site!.nginx.url}/api/version`, 2000).then(
          (r) => r.status === 200,
          () => false,
        );
        if (!up) await sleep(200);
      }
      expect(up, 'the fork-mode app never answered through Nginx').toBe(true);
      for (let i = 0; i < TRAD_RESTARTS; i++) {
        const r = await underLoad(() => pm2(env, ['restart', 'trad']));
        expect(r.exitCode, r.out).toBe(0);
        results.trad.push({ ms: r.ms, window: r.window });
      }
    });
  });

  it('zdd: no failed request in any row, and every measurement made', () => {
    const f = results.fast;
    const zddWindows = [
      ...results.deploys,
      ...results.rollbacks,
      ...(results.brokenDeploy ? [results.brokenDeploy] : []),
      ...f.full,
      ...f.noop,
      ...f.backend,
      ...f.forced,
    ];
    expect(results.errors).toEqual({});
    expect(zddWindows.map((w) => w.window.failed)).toEqual(zddWindows.map(() => 0));
  });
});

// ---------------------------------------------------------------------------------------------------

type Cell = string | number;

function renderTable(): string {
  const rows: Cell[][] = [];
  const met = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'yes' : '**no**');
  const missing = (phase: string) => `not measured${results.errors[phase] ? `: ${results.errors[phase]}` : ''}`;
  const zero = (w: Window | undefined) => (w ? w.failed === 0 : undefined);

  // 1
  if (results.deploys.length) {
    const w = merge(results.deploys.map((d) => d.window));
    rows.push([
      '1',
      `zdd deploy, app running (v1→v2→…, ${results.deploys.length} deploys, summed)`,
      w.requests,
      w.failed,
      kindsText(w),
      `${sec(median(results.deploys.map((d) => d.ms)))} per deploy (median)`,
      '0 failed',
      met(zero(w)),
    ]);
  } else rows.push(['1', `zdd deploy: ${missing('deploy')}`, '', '', '', '', '0 failed', met(false)]);

  // 2
  if (results.trad.length) {
    const w = merge(results.trad.map((d) => d.window));
    rows.push([
      '2',
      `traditional restart: same app, PM2 fork mode, \`pm2 restart trad\` (${results.trad.length} restarts, summed)`,
      w.requests,
      w.failed,
      kindsText(w),
      `${sec(median(results.trad.map((d) => d.ms)))} per restart (median)`,
      '—',
      '—',
    ]);
  } else rows.push(['2', `traditional restart: ${missing('traditional')}`, '', '', '', '', '—', '—']);

  // 3
  const br = results.brokenReload;
  if (br) {
    rows.push([
      '3a',
      `bare \`pm2 reload <ecosystem> --update-env\` of a build that throws at boot (cluster, 2 instances), then ${BROKEN_WATCH_MS / 1000} s`,
      br.window.requests,
      br.window.failed,
      kindsText(br.window),
      `reload ${sec(br.ms)}, pm2 exit ${br.exitCode}; after: ${br.after}`,
      '—',
      '—',
    ]);
  } else rows.push(['3a', `bare pm2 reload of a broken build: ${missing('broken-reload')}`, '', '', '', '', '—', '—']);
  const bd = results.brokenDeploy;
  if (bd) {
    const ok = bd.window.failed === 0 && bd.exitCode === 1 && bd.step === 'canary';
    rows.push([
      '3b',
      'zdd deploy of the same broken build',
      bd.window.requests,
      bd.window.failed,
      kindsText(bd.window),
      `${sec(bd.ms)}, exit ${bd.exitCode} at ${bd.step ?? '?'}`,
      'exit 1 at canary, 0 failed',
      met(ok),
    ]);
  } else rows.push(['3b', `zdd deploy of the broken build: ${missing('broken-deploy')}`, '', '', '', '', 'exit 1 at canary, 0 failed', met(false)]);

  // 4
  const rbMed = median(results.rollbacks.map((r) => r.ms));
  const bareMed = median(results.bareReloads.map((r) => r.ms));
  if (results.rollbacks.length) {
    const w = merge(results.rollbacks.map((r) => r.window));
    rows.push([
      '4a',
      `zdd rollback to the previous release (${results.rollbacks.length} runs)`,
      w.requests,
      w.failed,
      kindsText(w),
      `${sec(rbMed)} (median; ${results.rollbacks.map((r) => sec(r.ms)).join(', ')})`,
      '0 failed',
      met(zero(w)),
    ]);
  } else rows.push(['4a', `zdd rollback: ${missing('rollback')}`, '', '', '', '', '0 failed', met(false)]);
  if (results.bareReloads.length) {
    const w = merge(results.bareReloads.map((r) => r.window));
    rows.push([
      '4b',
      `bare \`pm2 reload <ecosystem> --update-env\`, same app (${results.bareReloads.length} runs, interleaved with 4a)`,
      w.requests,
      w.failed,
      kindsText(w),
      `${sec(bareMed)} (median; ${results.bareReloads.map((r) => sec(r.ms)).join(', ')})`,
      '—',
      '—',
    ]);
  }
  const ratio = rbMed / bareMed;
  rows.push([
    '4c',
    'rollback ÷ bare reload (medians of wall time)',
    '',
    '',
    '',
    Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a',
    `≤ ${ROLLBACK_RATIO_TARGET}×`,
    met(Number.isFinite(ratio) ? ratio <= ROLLBACK_RATIO_TARGET : undefined),
  ]);

  // 5
  const d = results.deploys;
  const st = (r: Pick<DeployRun, 'steps'>, id: string) => r.steps[id] ?? 0;
  const userOf = (r: Pick<DeployRun, 'steps'>) => USER_STEPS.reduce((a, id) => a + st(r, id), 0);
  const accounted = (r: Pick<DeployRun, 'steps'>) => userOf(r) + st(r, 'canary') + st(r, 'pm2') + st(r, 'verify');
  const overhead = median(d.map((r) => r.ms - accounted(r)));
  const overheadInProcess = median(d.map((r) => r.durationMs - accounted(r)));
  const n = d.length;
  rows.push(['5', `deploy wall time (zdd CLI process, median of ${n})`, '', '', '', sec(median(d.map((r) => r.ms))), '—', '—']);
  rows.push([
    '5a',
    "  user's commands: install-frontend + install-backend-build + build-frontend (incl. copying `dist`) + build-backend + install + hooks + nginx-test + nginx-reload",
    '',
    '',
    '',
    `${sec(median(d.map(userOf)))} (${USER_STEPS.map((id) => `${id} ${sec(median(d.map((r) => st(r, id))))}`).join(', ')})`,
    '—',
    '—',
  ]);
  rows.push(['5b', '  canary', '', '', '', sec(median(d.map((r) => st(r, 'canary')))), '—', '—']);
  rows.push(['5c', '  PM2 reload (pm2 step)', '', '', '', sec(median(d.map((r) => st(r, 'pm2')))), '—', '—']);
  rows.push(['5d', '  verify', '', '', '', sec(median(d.map((r) => st(r, 'verify')))), '—', '—']);
  rows.push([
    '5e',
    "  zdd's own overhead = 5 − (5a + 5b + 5c + 5d)",
    '',
    '',
    '',
    `${sec(overhead)} (${sec(overheadInProcess)} without Node start-up/exit)`,
    `≤ ${sec(OVERHEAD_TARGET_MS)}`,
    met(n ? overhead <= OVERHEAD_TARGET_MS : undefined),
  ]);

  const q = results.quietDeploys;
  if (q.length) {
    const qOverhead = median(q.map((r) => r.ms - accounted(r)));
    rows.push([
      '5f',
      `  the same overhead with no load running (${q.length} deploys, wall ${sec(median(q.map((r) => r.ms)))}, median)`,
      '',
      '',
      '',
      `${sec(qOverhead)} (${sec(median(q.map((r) => r.durationMs - accounted(r))))} without Node start-up/exit)`,
      `≤ ${sec(OVERHEAD_TARGET_MS)}`,
      met(qOverhead <= OVERHEAD_TARGET_MS),
    ]);
  }

  // 6
  const f = results.fast;
  const userIds = USER_STEPS;
  const ownOverhead = (r: DeployRun) => r.ms - (userIds.reduce((a, id) => a + st(r, id), 0) + st(r, 'canary') + st(r, 'pm2') + st(r, 'verify'));
  if (f.full.length) {
    const fullMed = median(f.full.map((r) => r.ms));
    const w = (rs: FastRun[]) => merge(rs.map((r) => r.window));
    const times = (rs: FastRun[]) => rs.map((r) => sec(r.ms)).join(', ');
    const wf = w(f.full);
    rows.push([
      '6a',
      `full deploy: new version of both parts, \`zdd deploy --no-cache\` (builds and installs everything; ${f.full.length} runs)`,
      wf.requests,
      wf.failed,
      kindsText(wf),
      `${sec(fullMed)} (median; ${times(f.full)}; ${userIds
        .filter((id) => median(f.full.map((r) => st(r, id))) >= 5)
        .map((id) => `${id} ${sec(median(f.full.map((r) => st(r, id))))}`)
        .join(', ')})`,
      '0 failed',
      met(wf.failed === 0),
    ]);
    if (f.noop.length) {
      const m = median(f.noop.map((r) => r.ms));
      const wn = w(f.noop);
      rows.push([
        '6b',
        `no-change redeploy: \`zdd deploy\` right after 6a (a no-op: no release, no reload)`,
        wn.requests,
        wn.failed,
        kindsText(wn),
        `${sec(m)} = ${(m / fullMed).toFixed(2)}× 6a (median; ${times(f.noop)})`,
        `≤ ${NOOP_RATIO_TARGET}× 6a`,
        met(m / fullMed <= NOOP_RATIO_TARGET),
      ]);
    } else rows.push(['6b', `no-change redeploy: ${missing('fast')}`, '', '', '', '', `≤ ${NOOP_RATIO_TARGET}× 6a`, met(false)]);
    if (f.backend.length) {
      const m = median(f.backend.map((r) => r.ms));
      const wb = w(f.backend);
      const reused = [...new Set(f.backend.flatMap((r) => Object.keys(r.reused)))].sort().join(' + ') || 'nothing';
      rows.push([
        '6c',
        `one-file backend change (backend/version.json), \`zdd deploy\` (reused: ${reused}; backend copied; PM2 reload)`,
        wb.requests,
        wb.failed,
        kindsText(wb),
        `${sec(m)} = ${(m / fullMed).toFixed(2)}× 6a (median; ${times(f.backend)}; pm2 ${sec(median(f.backend.map((r) => st(r, 'pm2'))))})`,
        `≤ ${BACKEND_CHANGE_RATIO_TARGET}× 6a`,
        met(m / fullMed <= BACKEND_CHANGE_RATIO_TARGET),
      ]);
    } else rows.push(['6c', `one-file backend change: ${missing('fast')}`, '', '', '', '', `≤ ${BACKEND_CHANGE_RATIO_TARGET}× 6a`, met(false)]);
    const ovFull = median(f.full.map(ownOverhead));
    const ovBackend = median(f.backend.map(ownOverhead));
    const ovNoop = median(f.noop.map((r) => r.ms));
    const worst = Math.max(...[ovFull, ovBackend, ovNoop].filter(Number.isFinite));
    rows.push([
      '6d',
      "  zdd's own overhead (wall time − user's commands, canary, pm2, verify; a no-op is all overhead)",
      '',
      '',
      '',
      `6a ${sec(ovFull)}, 6c ${sec(ovBackend)}, 6b ${sec(ovNoop)} (without Node start-up/exit: 6a ${sec(median(f.full.map((r) => ownOverhead(r) - (r.ms - r.durationMs))))}, 6c ${sec(median(f.backend.map((r) => ownOverhead(r) - (r.ms - r.durationMs))))})`,
      `≤ ${sec(OVERHEAD_TARGET_MS)}`,
      met(Number.isFinite(worst) ? worst <= OVERHEAD_TARGET_MS : undefined),
    ]);
    if (f.forced.length) {
      const fullBytes = median(f.full.map((r) => r.addedBytes ?? NaN));
      const forcedBytes = median(f.forced.map((r) => r.addedBytes ?? NaN));
      const pct = (100 * forcedBytes) / fullBytes;
      const wx = w(f.forced);
      rows.push([
        '6e',
        `disk: a no-change release (\`zdd deploy --force\`, every part hard-linked) vs a full release (6a), bytes each added to the deploy root`,
        wx.requests,
        wx.failed,
        kindsText(wx),
        `${forcedBytes} B vs ${fullBytes} B = ${pct.toFixed(2)} % (wall ${sec(median(f.forced.map((r) => r.ms)))})`,
        `< ${DISK_PCT_TARGET} %`,
        met(Number.isFinite(pct) ? pct < DISK_PCT_TARGET : undefined),
      ]);
    } else rows.push(['6e', `disk of a no-change release: ${missing('fast')}`, '', '', '', '', `< ${DISK_PCT_TARGET} %`, met(false)]);
  } else rows.push(['6', `fast deploys: ${missing('fast')}`, '', '', '', '', '—', met(false)]);

  const header = ['#', 'measurement', 'requests', 'failed', 'failures seen', 'time', 'target', 'met?'];
  const line = (cells: Cell[]) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  const out = [line(header), line(header.map(() => '---')), ...rows.map(line)];

  // What the medians are made of, for reading the table.
  const notes: string[] = [];
  notes.push(
    `Load: three kinds at once, keep-alive, no retries: ${CONCURRENCY['post-nginx']} loops of POST /api/echo through a private Nginx on 127.0.0.1 (never retried by Nginx), ` +
      `${CONCURRENCY['get-direct']} of GET /api/version straight at backend.port, ${CONCURRENCY['get-nginx']} of GET ${PATHS.join(' and ')} round-robin through Nginx; failures are named by load (post-nginx, get-direct, get-nginx), ` +
      `from ${PRE_MS} ms before each operation to ${SETTLE_MS / 1000} s after it returned (3a: ${BROKEN_WATCH_MS / 1000} s). ` +
      `Node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString()}.`,
  );
  const distNow = distAtEnd ?? distStamp();
  if (distNow !== distAtStart) {
    notes.push(
      `**dist/ was rebuilt during this run** (newest file ${new Date(distAtStart).toISOString()} at the first measured deploy, ${new Date(distNow).toISOString()} after the last zdd run): the rows mix two builds of zdd; run again.`,
    );
  } else notes.push(`zdd measured: dist/ built ${new Date(distAtStart).toISOString()} (tree at ${head}).`);
  if (results.rollbacks.length) {
    const ids = [...new Set(results.rollbacks.flatMap((r) => Object.keys(r.timings)))];
    const parts = ids.map((id) => `${id} ${median(results.rollbacks.map((r) => r.timings[id] ?? 0)).toFixed(0)}`);
    const startup = median(results.rollbacks.map((r) => r.ms - r.durationMs));
    const outside = median(results.rollbacks.map((r) => r.durationMs - sum(Object.values(r.timings))));
    notes.push(
      `zdd rollback steps, median ms: ${parts.join(', ')}; outside the steps ${outside.toFixed(0)}; Node start-up/exit around them ${startup.toFixed(0)}. ` +
        `One \`pm2 jlist\` under the same load: ${median(results.jlist).toFixed(0)} ms (median of ${results.jlist.length}).`,
    );
  }
  if (n) {
    const counted = new Set([...USER_STEPS, 'canary', 'pm2', 'verify']);
    const rest = [...new Set(d.flatMap((r) => Object.keys(r.steps)))].filter((id) => !counted.has(id));
    const parts = rest.map((id) => `${id} ${median(d.map((r) => st(r, id))).toFixed(0)}`);
    const startup = median(d.map((r) => r.ms - r.durationMs));
    const outside = median(d.map((r) => r.durationMs - sum(Object.values(r.steps))));
    notes.push(
      `Overhead (5e) is made of (ms, medians): Node start-up/exit ${startup.toFixed(0)}; steps ${parts.join(', ')}; ` +
        `outside any step (mostly loading the command's modules and the config before the first step; also the cleanup after the last) ${outside.toFixed(0)}.`,
    );
  }
  if (f.full.length) {
    const parts = (rs: FastRun[]) => [...new Set(rs.map((r) => Object.keys(r.reused).sort().join('+') || 'nothing'))].join(' / ');
    notes.push(
      `Rows 6: ${FAST_RUNS} rounds of 6a → 6b → 6c → 6e, each under the same load as the other rows. Reused from earlier releases (release.json \`reused\`): 6a ${parts(f.full)}, 6c ${parts(f.backend)}, 6e ${parts(f.forced)}. ` +
        `Disk (6e) is what each release adds: the deploy root's bytes minus the same without that release, hard links counted once; the example backend has no dependencies, so node_modules weighs nothing in either. ` +
        `Overhead of 6a/6c, ms (medians): Node start-up/exit ${median([...f.full, ...f.backend].map((r) => r.ms - r.durationMs)).toFixed(0)}; ${['lock', 'prepare', 'carry-over', 'pm2-check', 'switch', 'record', 'prune'].map((id) => `${id} ${median([...f.full, ...f.backend].map((r) => r.steps[id] ?? 0)).toFixed(0)}`).join(', ')}; ` +
        `outside any step (module loading, config, hashing the inputs) ${median([...f.full, ...f.backend].map((r) => r.durationMs - sum(Object.values(r.steps)))).toFixed(0)}.`,
    );
  }
  return `${out.join('\n')}\n\n${notes.map((x) => `- ${x}`).join('\n')}\n`;
}
