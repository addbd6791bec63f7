// zdd rollback, releases and status through the real CLI (dist/, build it first with `npm run build`),
// with real PM2 (a temp PM2_HOME) and a real Nginx on loopback, under load through Nginx.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, makeTempDir, removeDir, setVersion } from '../helpers/example.js';
import { httpGet, startSiteLoad, type LoadReport, type SiteLoadHandle } from '../helpers/load.js';
import { startNginx, type NginxInstance } from '../helpers/nginx.js';
import { repoRoot, tempPm2Home, type TempPm2Home } from '../helpers/pm2.js';
import { freePort } from '../helpers/ports.js';

const zddBin = join(repoRoot, 'bin', 'zdd');
const LOAD_PATHS = ['/', '/api/version'];
// A request hung by a lost connection fails after this long (instead of the load's default 70 s),
// so it shows up as an ETIMEDOUT failure well within the test's timeout.
const REQUEST_TIMEOUT_MS = 15_000;

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  json: any;
  ms: number;
}

describe('zdd rollback / releases / status (real PM2 + Nginx, under load)', () => {
  let work: string | undefined;
  let pm2: TempPm2Home | undefined;
  let nginx: NginxInstance | undefined;
  let load: SiteLoadHandle | undefined;
  let backendPort = 0;
  let app = '';
  let deployTo = '';
  let configPath = '';
  const ids: Record<string, string> = {};

  async function zdd(...args: string[]): Promise<Run> {
    const t0 = Date.now();
    const r = await execa(process.execPath, [zddBin, ...args, '--config', configPath], {
      cwd: app,
      env: { ...pm2!.env, CI: '1' },
      reject: false,
      timeout: 120_000,
    });
    let json: any;
    if (args.includes('--json')) {
      try {
        json = JSON.parse(String(r.stdout));
      } catch {
        json = undefined;
      }
    }
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), json, ms: Date.now() - t0 };
  }

  function explain(r: Run): string {
    return `exit ${r.exitCode}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
  }

  async function served(): Promise<{ api: string; page: string | undefined }> {
    const api = JSON.parse((await httpGet(`${nginx!.url}/api/version`)).body) as { version: string };
    const page = /<meta name="app-version" content="([^"]*)">/.exec((await httpGet(`${nginx!.url}/`)).body)?.[1];
    return { api: api.version, page };
  }

  function noFailures(report: LoadReport): void {
    expect(report.failures.slice(0, 10)).toEqual([]);
    expect(report.failed).toBe(0);
  }

  beforeAll(async () => {
    work = await makeTempDir('rollback-');
    app = join(work, 'app');
    deployTo = join(work, 'deploy');
    pm2 = await tempPm2Home();
    backendPort = await freePort();
    nginx = await startNginx({ deployTo, backendPort });
    const copied = await copyExample(app, {
      version: 'v1',
      deployTo,
      backendPort,
      nginx: { test: nginx.testCmd, reload: nginx.reloadCmd },
      config: { backend: { instances: 2, readyTimeout: 8000, killTimeout: 4000 }, healthcheck: { timeout: 10000 } },
    });
    configPath = copied.configPath;

    for (const v of ['v1', 'v2', 'v3']) {
      await setVersion(app, v);
      const r = await zdd('deploy', '--json');
      expect(r.exitCode, explain(r)).toBe(0);
      ids[v] = r.json.release.id;
    }
    expect(await served()).toEqual({ api: 'v3', page: 'v3' });
  }, 240_000);

  afterAll(async () => {
    await load?.stop().catch(() => {});
    await pm2?.kill();
    await nginx?.stop();
    if (work) await removeDir(work);
  }, 60_000);

  it('lists the three deploys newest first, v3 current', async () => {
    const r = await zdd('releases', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.json.releases.map((x: any) => [x.id, x.status])).toEqual([
      [ids.v3, 'current'],
      [ids.v2, 'ok'],
      [ids.v1, 'ok'],
    ]);
    for (const x of r.json.releases) {
      expect(x.sizeBytes).toBeGreaterThan(0);
      expect(x.durationMs).toBeGreaterThan(0);
      expect(typeof x.createdAt).toBe('string');
    }
    // The table goes to stderr in json mode.
    expect(r.stderr).toMatch(/ID\s+STATUS\s+COMMIT\s+CREATED \(UTC\)\s+DURATION\s+SIZE/);
  });

  it('--dry-run plans a rollback to v2 and changes nothing', async () => {
    const r = await zdd('rollback', '--dry-run', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.json).toMatchObject({ dryRun: true, release: { id: ids.v2, previous: ids.v3 } });
    expect(r.json.steps.map((s: any) => s.id)).toEqual([
      'lock',
      'target',
      'nginx-test',
      'pm2-check',
      'switch',
      'pm2',
      'verify',
      'nginx-reload',
      'traffic',
      'bake',
      'record',
    ]);
    expect(await served()).toEqual({ api: 'v3', page: 'v3' });
  });

  it('rolls back to the previous release under load with zero failed requests', async () => {
    load = startSiteLoad({
      nginxUrl: nginx!.url,
      backendUrl: `http://127.0.0.1:${backendPort}`,
      nginxPaths: LOAD_PATHS,
      maxDurationMs: 120_000,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    await new Promise((r) => setTimeout(r, 300));
    const r = await zdd('rollback', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.json.release).toMatchObject({ id: ids.v2, previous: ids.v3 });
    expect(r.json.steps.find((s: any) => s.id === 'verify')?.status).toBe('done');
    console.info(`rollback v3 -> v2: ${r.ms} ms wall (CLI), steps ${JSON.stringify(r.json.timings)}`);
    expect(await served()).toEqual({ api: 'v2', page: 'v2' });
    const report = await load.stop();
    load = undefined;
    noFailures(report);
    expect(report.total).toBeGreaterThan(50);
    expect(report.versions.v2).toBeGreaterThan(0);
  }, 60_000);

  it('rolls back to a named release by a unique prefix under load', async () => {
    const others = [ids.v2!, ids.v3!];
    let n = 1;
    while (others.some((o) => o.startsWith(ids.v1!.slice(0, n)))) n++;
    const prefix = ids.v1!.slice(0, n);
    expect(prefix.length).toBeLessThanOrEqual(ids.v1!.length);

    load = startSiteLoad({
      nginxUrl: nginx!.url,
      backendUrl: `http://127.0.0.1:${backendPort}`,
      nginxPaths: LOAD_PATHS,
      maxDurationMs: 120_000,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    await new Promise((r) => setTimeout(r, 300));
    const r = await zdd('rollback', prefix, '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.json.release).toMatchObject({ id: ids.v1, previous: ids.v2 });
    console.info(`rollback v2 -> v1 (prefix ${prefix}): ${r.ms} ms wall (CLI), steps ${JSON.stringify(r.json.timings)}`);
    expect(await served()).toEqual({ api: 'v1', page: 'v1' });
    const report = await load.stop();
    load = undefined;
    noFailures(report);
    expect(report.versions.v1).toBeGreaterThan(0);
  }, 60_000);

  it('records the rollbacks: statuses, wentLiveAt, the deploy record kept, the history', async () => {
    const r = await zdd('releases', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    const byId = Object.fromEntries(r.json.releases.map((x: any) => [x.id, x]));
    expect(r.json.releases.map((x: any) => [x.id, x.status])).toEqual([
      [ids.v3, 'rolled-back-from'],
      [ids.v2, 'rolled-back-from'],
      [ids.v1, 'current'],
    ]);
    expect(byId[ids.v1!].recordStatus).toBe('ok');
    expect(byId[ids.v3!].recordStatus).toBe('ok');

    const v1 = JSON.parse(await readFile(join(deployTo, 'releases', ids.v1!, 'release.json'), 'utf8'));
    expect(Date.parse(v1.wentLiveAt)).toBeGreaterThan(Date.parse(v1.finishedAt)); // live again, later
    expect(v1.steps['build-frontend']).toBeGreaterThan(0); // the deploy's own timings are kept
    expect(v1.rolledBackAt).toBeUndefined();

    const history = JSON.parse(await readFile(join(deployTo, '.zdd', 'history.json'), 'utf8')) as any[];
    const rollbacks = history.filter((h) => h.action === 'rollback');
    expect(rollbacks.map((h) => [h.from, h.release, h.result])).toEqual([
      [ids.v3, ids.v2, 'ok'],
      [ids.v2, ids.v1, 'ok'],
    ]);
    for (const h of rollbacks) {
      expect(typeof h.user).toBe('string');
      expect(Date.parse(h.at)).toBeGreaterThan(0);
    }
  });

  it('status: exit 0, every instance online on current, nginx test passing, no lock', async () => {
    const r = await zdd('status', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.json.current.id).toBe(ids.v1);
    expect(typeof r.json.current.wentLiveAt).toBe('string');
    expect(r.json.instances).toHaveLength(2);
    for (const i of r.json.instances) expect(i).toMatchObject({ status: 'online', release: ids.v1, ok: true });
    expect(r.json.nginx).toMatchObject({ configured: true, ok: true });
    expect(r.json.lock).toBeNull();
    expect(r.json.problems).toEqual([]);
  });

  it('refuses bad, unknown, ambiguous and current ids with exit 2, touching nothing', async () => {
    for (const [args, pattern] of [
      [['../x'], /must not contain/],
      [['..'], /must not contain/],
      [['2099'], /no release matches/],
      [['20'], /ambiguous/],
      [[ids.v1!], /already current/],
    ] as const) {
      const r = await zdd('rollback', ...args);
      expect(r.exitCode, explain(r)).toBe(2);
      expect(r.stdout + r.stderr).toMatch(pattern);
    }
    expect(await served()).toEqual({ api: 'v1', page: 'v1' });
  });

  it('lists a corrupt release.json as corrupt and refuses to roll back to it', async () => {
    await writeFile(join(deployTo, 'releases', ids.v3!, 'release.json'), '{"id": "trunc');
    const r = await zdd('releases', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    const v3 = r.json.releases.find((x: any) => x.id === ids.v3);
    expect(v3).toMatchObject({ status: 'corrupt', recordStatus: null });
    expect(v3.problem).toMatch(/corrupt/);
    expect(r.stderr).toMatch(new RegExp(`warn .*${ids.v3}.*corrupt`));
    expect(r.json.releases.map((x: any) => x.status)).toEqual(['corrupt', 'rolled-back-from', 'current']);

    const plain = await zdd('releases');
    expect(plain.exitCode, explain(plain)).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`${ids.v3}\\s+corrupt`));

    const rb = await zdd('rollback', ids.v3!);
    expect(rb.exitCode, explain(rb)).toBe(2);
    expect(rb.stdout).toMatch(/corrupt/);
  });

  it('unlock: no lock is fine; a held lock needs --force outside a terminal', async () => {
    expect((await zdd('unlock')).exitCode).toBe(0);
    const lockPath = join(deployTo, '.zdd', 'lock');
    await writeFile(lockPath, JSON.stringify({ pid: 999999, host: 'elsewhere', user: 'x', command: 'zdd deploy', startedAt: new Date().toISOString() }));
    const refused = await zdd('unlock');
    expect(refused.exitCode, explain(refused)).toBe(2);
    expect(refused.stdout).toMatch(/--force/);
    const st = await zdd('status', '--json');
    expect(st.json.lock).toMatchObject({ pid: 999999, host: 'elsewhere' });
    const forced = await zdd('unlock', '--force', '--json');
    expect(forced.exitCode, explain(forced)).toBe(0);
    expect(forced.json).toMatchObject({ removed: true });
    await expect(readFile(lockPath)).rejects.toThrow();
  });
});
