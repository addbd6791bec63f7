// zdd with `hosts`: deploys over real SSH to two "servers" (network namespaces with their own address,
// sshd, Nginx, PM2 home and deploy root; see test/helpers/hosts.ts), under load through each host's
// Nginx with a client that never retries. The real CLI (dist/), real rsync, real PM2.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVersion } from '../helpers/example.js';
import { fleetSupported, makeFleet, type TestFleet } from '../helpers/hosts.js';
import { httpGet, startLoad, type LoadHandle, type LoadReport } from '../helpers/load.js';
import { zddBin } from '../helpers/site.js';

const LOAD_PATHS = ['/', '/api/version'];
const unsupported = fleetSupported();

async function served(url: string): Promise<{ page?: string; api?: string; release?: string }> {
  const api = await httpGet(`${url}/api/version`).catch(() => undefined);
  const page = await httpGet(`${url}/`).catch(() => undefined);
  let j: { version?: string; release?: string } = {};
  try {
    j = JSON.parse(api?.body ?? '{}');
  } catch {
    /* not JSON */
  }
  return { page: /<meta name="app-version" content="([^"]*)">/.exec(page?.body ?? '')?.[1], api: j.version, release: j.release };
}

async function currentOf(deployTo: string): Promise<string> {
  return (await readlink(join(deployTo, 'current'))).replace(/^releases\//, '');
}

function noFailures(report: LoadReport, what: string): void {
  expect(report.failures.slice(0, 5), what).toEqual([]);
  expect(report.failed, what).toBe(0);
  expect(report.ok, what).toBeGreaterThan(0);
}

describe.skipIf(unsupported)('zdd deploy/rollback/status to two hosts over SSH (real sshd, rsync, PM2, Nginx; under load)', () => {
  let fleet: TestFleet;
  let loads: LoadHandle[] = [];
  const ids: Record<string, string> = {};
  const buildLog = () => join(fleet.app, 'frontend-builds.log');

  async function setConfig(patch: (c: Record<string, any>) => void): Promise<void> {
    const c = JSON.parse(await readFile(fleet.configPath, 'utf8'));
    patch(c);
    await writeFile(fleet.configPath, JSON.stringify(c, null, 2));
  }

  function startLoads(): void {
    // GETs and POSTs (which Nginx never retries) through each host's Nginx. (The app listens on the
    // host's loopback, inside its network namespace: no direct load from here.)
    loads = fleet.hosts.flatMap((h) => [
      startLoad({ url: h.url, paths: LOAD_PATHS, concurrency: 2, requestTimeoutMs: 15_000 }),
      startLoad({ url: h.url, paths: ['/api/echo'], method: 'POST', concurrency: 2, requestTimeoutMs: 15_000 }),
    ]);
  }

  async function stopLoads(what: string): Promise<LoadReport[]> {
    const reports = await Promise.all(loads.map((l) => l.stop()));
    loads = [];
    for (const [i, r] of reports.entries()) noFailures(r, `${what}, host ${Math.floor(i / 2)} ${i % 2 ? 'POST' : 'GET'}`);
    return reports;
  }

  beforeAll(async () => {
    // The last host's deploy root is hostile to shells: quotes, `;` and $(…) that would create a file.
    fleet = await makeFleet({ count: 2, version: 'v1', lastDeployTo: `d'q'"d"$(touch\${IFS}PWNED);x` });
    // Count how often the frontend is built: once per deploy, whatever the number of hosts.
    await setConfig((c) => (c.frontend = { ...c.frontend, build: `echo built >> ../frontend-builds.log && ${c.frontend?.build ?? 'npx vite build'}` }));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(loads.map((l) => l.stop()));
    await fleet?.stop();
  }, 120_000);

  it('first deploy: the same release on both hosts, built once, nothing run from the path', async () => {
    const r = await fleet.zdd(['deploy', '--json']);
    expect(r.exitCode, r.all).toBe(0);
    const doc = JSON.parse(r.stdout);
    ids.v1 = doc.release.id;
    expect(doc.hosts.map((h: any) => h.host)).toEqual(fleet.hosts.map((h) => h.name));
    for (const h of fleet.hosts) {
      expect(await currentOf(h.deployTo)).toBe(ids.v1);
      expect(await served(h.url)).toMatchObject({ page: 'v1', api: 'v1', release: ids.v1 });
    }
    expect((await readFile(buildLog(), 'utf8')).trim().split('\n')).toHaveLength(1);
    // One line per host per step, named by host.
    expect(r.stderr).toMatch(new RegExp(`${fleet.hosts[1]!.name.replace(/\./g, '\\.')}\\s+│ canary`));
    const pwned = await execa('find', [fleet.work, '/root', '/tmp', '-maxdepth', '6', '-name', 'PWNED*'], { reject: false });
    expect(String(pwned.stdout).trim()).toBe('');
  }, 180_000);

  it('deploys v2 to both hosts under load with no failed request', async () => {
    startLoads();
    await setVersion(fleet.app, 'v2');
    const r = await fleet.zdd(['deploy', '--json']);
    expect(r.exitCode, r.all).toBe(0);
    ids.v2 = JSON.parse(r.stdout).release.id;
    for (const h of fleet.hosts) expect(await served(h.url)).toMatchObject({ page: 'v2', api: 'v2', release: ids.v2 });
    const reports = await stopLoads('deploy v2');
    for (const rep of reports) expect(rep.versions.v2).toBeGreaterThan(0);
    expect((await readFile(buildLog(), 'utf8')).trim().split('\n')).toHaveLength(2);
  }, 180_000);

  it('a one-file backend change sends only that file (rsync --link-dest), and the frontend is reused', async () => {
    const f = join(fleet.app, 'backend', 'extra.js');
    await writeFile(f, `module.exports = ${JSON.stringify('x'.repeat(2000))};\n`);
    const r = await fleet.zdd(['deploy', '--json']);
    expect(r.exitCode, r.all).toBe(0);
    const doc = JSON.parse(r.stdout);
    ids.v2b = doc.release.id;
    for (const h of doc.hosts) {
      const front = h.steps.find((s: any) => s.id === 'build-frontend');
      expect(front.note).toMatch(/skipped/);
      expect(h.transfer.sentBytes).toBeGreaterThan(2000);
      expect(h.transfer.sentBytes).toBeLessThan(h.transfer.totalBytes);
    }
    // The frontend was not built again.
    expect((await readFile(buildLog(), 'utf8')).trim().split('\n')).toHaveLength(2);
    for (const h of fleet.hosts) expect(existsSync(join(h.deployTo, 'releases', ids.v2b!, 'backend', 'extra.js'))).toBe(true);
  }, 180_000);

  it('a rolling deploy (rollout.batch 1) switches one host at a time, under load', async () => {
    await setConfig((c) => (c.rollout = { batch: 1, bake: 0 }));
    startLoads();
    await setVersion(fleet.app, 'v3');
    const r = await fleet.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain('switch batch 1/2');
    expect(r.all).toContain('switch batch 2/2');
    // Host 0 was verified before host 1 switched.
    const lines = r.all.split('\n');
    const verified0 = lines.findIndex((l) => l.includes(`${fleet.hosts[0]!.name} │`) && /done\s.*verify/.test(l));
    const switch1 = lines.findIndex((l) => l.includes(`${fleet.hosts[1]!.name} │`) && /start\s.*switch/.test(l));
    expect(verified0).toBeGreaterThan(-1);
    expect(switch1).toBeGreaterThan(verified0);
    for (const h of fleet.hosts) expect(await served(h.url)).toMatchObject({ page: 'v3', api: 'v3' });
    await stopLoads('rolling deploy v3');
    ids.v3 = await currentOf(fleet.hosts[0]!.deployTo);
    await setConfig((c) => (c.rollout = { bake: 0 }));
  }, 180_000);

  it('a host that fails before the switch changes nothing anywhere', async () => {
    startLoads();
    // Only host 1's Nginx test fails (its per-host environment points at a config that is not there).
    const good = fleet.hosts[1]!.entry.env as Record<string, string>;
    await setConfig((c) => (c.hosts[1].env = { ...good, NGINX_ARGS: `${good.NGINX_ARGS} -c /nonexistent/nginx.conf` }));
    await setVersion(fleet.app, 'v4-never');
    const r = await fleet.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain('nginx-test');
    expect(r.all).toContain(fleet.hosts[1]!.name);
    for (const h of fleet.hosts) {
      expect(await currentOf(h.deployTo)).toBe(ids.v3);
      expect(await served(h.url)).toMatchObject({ page: 'v3', api: 'v3' });
    }
    const reports = await stopLoads('failing host');
    for (const rep of reports) expect(rep.versions['v4-never']).toBeUndefined();
    await setConfig((c) => (c.hosts[1].env = good));
    // The failed release is recorded as failed on both hosts.
    const failedId = (await execa('ls', [join(fleet.hosts[0]!.deployTo, 'releases')])).stdout.trim().split('\n').sort().pop()!;
    for (const h of fleet.hosts) {
      const info = JSON.parse(await readFile(join(h.deployTo, 'releases', failedId, 'release.json'), 'utf8'));
      expect(info.status).toBe('failed');
    }
  }, 180_000);

  it('a release that fails under PM2 after the switch rolls every switched host back', async () => {
    await setVersion(fleet.app, 'broken-under-pm2');
    const server = join(fleet.app, 'backend', 'server.js');
    const src = await readFile(server, 'utf8');
    await writeFile(server, src.replace("'use strict';", "'use strict';\nif (process.env.NODE_APP_INSTANCE !== undefined) throw new Error('only under pm2');"));
    startLoads();
    const r = await fleet.zdd(['deploy']);
    await writeFile(server, src);
    expect(r.exitCode, r.all).toBe(1);
    // Seen during the reload on each host: current went back at once, PM2's restart ran v3.
    expect(r.all).toContain('pm2 failed');
    expect(r.all).toMatch(/exited at boot under PM2/);
    expect(r.all).toContain('undo switch');
    for (const h of fleet.hosts) {
      expect(await currentOf(h.deployTo)).toBe(ids.v3);
      let s = await served(h.url);
      for (let i = 0; i < 20 && s.api !== 'v3'; i++) {
        await new Promise((res) => setTimeout(res, 500));
        s = await served(h.url);
      }
      expect(s).toMatchObject({ page: 'v3', api: 'v3' });
    }
    await stopLoads('switch-back of a release that dies under PM2');
  }, 180_000);

  it('the bake, a batch at a time: a release whose routes answer 500 soon after boot is switched back on the host that baked it; the next batch is never switched', async () => {
    const versionFile = join(fleet.app, 'backend', 'version.json');
    const was = await readFile(versionFile, 'utf8');
    await setConfig((c) => (c.rollout = { batch: 1, bake: 0 }));
    await setVersion(fleet.app, 'v4-failing');
    await writeFile(versionFile, `${JSON.stringify({ version: 'v4-failing', failAfterMs: 1500 })}\n`);
    startLoads();
    const r = await fleet.zdd(['deploy', '--bake', '6']);
    const reports = await Promise.all(loads.map((l) => l.stop()));
    loads = [];
    await setConfig((c) => (c.rollout = { bake: 0 }));
    await writeFile(versionFile, was);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/bake .*— 5xx \d+(\.\d)?% over/);
    expect(r.all).toMatch(/switch batch 1\/2/);
    expect(r.all).not.toMatch(/switch batch 2\/2/);
    for (const h of fleet.hosts) {
      expect(await currentOf(h.deployTo)).toBe(ids.v3);
      expect(await served(h.url)).toMatchObject({ api: 'v3' });
    }
    // Only the host that baked it answered the planted 500s; the other one served v3 throughout.
    const failedOn = reports.map((x) => x.failed);
    expect(failedOn[2]! + failedOn[3]!, JSON.stringify(failedOn)).toBe(0);
    expect(
      reports.flatMap((x) => x.failures).every((f) => f.status === 500),
      JSON.stringify(reports.flatMap((x) => x.failures).slice(0, 5)),
    ).toBe(true);
  }, 180_000);

  it('rolls every host back to a named release under load, and records it', async () => {
    startLoads();
    const r = await fleet.zdd(['rollback', ids.v1!]);
    expect(r.exitCode, r.all).toBe(0);
    for (const h of fleet.hosts) {
      expect(await currentOf(h.deployTo)).toBe(ids.v1);
      expect(await served(h.url)).toMatchObject({ page: 'v1', api: 'v1', release: ids.v1 });
      const history = JSON.parse(await readFile(join(h.deployTo, '.zdd', 'history.json'), 'utf8'));
      const last = (Array.isArray(history) ? history : history.entries).at(-1);
      expect(last).toMatchObject({ action: 'rollback', result: 'ok', release: ids.v1, from: ids.v3 });
    }
    await stopLoads('rollback');
  }, 180_000);

  it('status and releases show each host; they warn when hosts disagree on current', async () => {
    let r = await fleet.zdd(['status', '--json']);
    expect(r.exitCode, r.all).toBe(0);
    let doc = JSON.parse(r.stdout);
    expect(doc.hosts).toHaveLength(2);
    for (const h of doc.hosts) expect(h.current.id).toBe(ids.v1);
    expect(doc.hosts[0].instances.length).toBeGreaterThan(0);

    // Point host 1 somewhere else by hand (as a half-done manual fix would).
    const h1 = fleet.hosts[1]!;
    await execa('ln', ['-sfn', `releases/${ids.v2}`, join(h1.deployTo, 'current')]);
    r = await fleet.zdd(['status']);
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain('disagree on current');
    r = await fleet.zdd(['releases', '--json']);
    expect(r.exitCode, r.all).toBe(0);
    doc = JSON.parse(r.stdout);
    expect(doc.hosts.map((h: any) => h.current)).toEqual([ids.v1, ids.v2]);
    expect(doc.disagreements[0]).toContain('disagree on current');
    // A named rollback puts them back on one release: host 0 is already there and is left alone.
    r = await fleet.zdd(['rollback', ids.v1!]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain(`already on ${ids.v1}`);
    for (const h of fleet.hosts) expect(await currentOf(h.deployTo)).toBe(ids.v1);
    r = await fleet.zdd(['rollback', ids.v1!]);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain('already current on every host');
  }, 180_000);

  it('doctor checks every host over SSH: node, rsync, pm2, deployTo, the Nginx test', async () => {
    const r = await fleet.zdd(['doctor', '--json']);
    const checks = JSON.parse(r.stdout).checks as Array<{ name: string; level: string; detail: string }>;
    for (const h of fleet.hosts) {
      for (const what of ['node', 'rsync', 'pm2', 'deployTo', 'nginx test']) {
        const c = checks.find((k) => k.name === `${h.name} ${what}`);
        expect(c, `${h.name} ${what}: ${JSON.stringify(checks)}`).toMatchObject({ level: 'ok' });
      }
    }
  }, 180_000);

  it('refuses (exit 2, naming the host) a rollback to a release one host lacks', async () => {
    const h0 = fleet.hosts[0]!;
    await execa('rm', ['-rf', join(h0.deployTo, 'releases', ids.v2!)]);
    const r = await fleet.zdd(['rollback', ids.v2!]);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(h0.name);
    for (const h of fleet.hosts) expect(await currentOf(h.deployTo)).toBe(ids.v1);
  }, 180_000);

  it('a deploy killed with SIGKILL mid-prepare leaves every host serving; the next deploy takes the locks over', async () => {
    const before = await currentOf(fleet.hosts[0]!.deployTo);
    startLoads();
    await setVersion(fleet.app, 'v5-killed');
    const child = execa(process.execPath, [zddBin, 'deploy', '--config', fleet.configPath], { cwd: fleet.app, env: { CI: '1' }, reject: false, all: true });
    let seen = '';
    child.all!.on('data', (d: Buffer) => (seen += d.toString()));
    for (let i = 0; i < 600 && !/│ (install|canary)/.test(seen); i++) await new Promise((r) => setTimeout(r, 100));
    expect(seen).toMatch(/│ (install|canary)/);
    child.kill('SIGKILL');
    await child;
    for (const h of fleet.hosts) {
      expect(await currentOf(h.deployTo)).toBe(before);
      expect((await served(h.url)).release).toBe(before);
    }
    await setVersion(fleet.app, 'v5');
    const r = await fleet.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain('taking over the lock of a deploy that is gone');
    expect(r.all).toContain('left half-built by a deploy that stopped');
    for (const h of fleet.hosts) expect(await served(h.url)).toMatchObject({ page: 'v5', api: 'v5' });
    await stopLoads('SIGKILL mid-prepare, then a deploy');
  }, 180_000);

  it('an unknown host key is refused: no blanket StrictHostKeyChecking=no', async () => {
    await writeFile(join(fleet.work, 'known_hosts.empty'), '');
    await setConfig(
      (c) =>
        (c.ssh.options = c.ssh.options.map((o: string) =>
          o.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${join(fleet.work, 'known_hosts.empty')}` : o,
        )),
    );
    const r = await fleet.zdd(['deploy', '--force']);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/Host key verification failed|host key/i);
    await setConfig(
      (c) =>
        (c.ssh.options = c.ssh.options.map((o: string) => (o.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${join(fleet.work, 'known_hosts')}` : o))),
    );
  });
});
