// zdd deploy end to end: the real CLI, real PM2 (temp PM2_HOME), real Nginx on loopback, the example
// app, and constant load that never retries: POSTs through Nginx (which never retries them), keep-alive
// GETs straight at backend.port and GETs through Nginx. Every deploy here, failed or not, must cost
// zero failed requests, and a broken release must never be served.
import { execa } from 'execa';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakBackendAtBoot, breakHealthcheck, breakHealthcheckUnderPm2, setVersion } from '../helpers/example.js';
import { httpGet, type SiteLoadReport } from '../helpers/load.js';
import { pm2Bin } from '../helpers/pm2.js';
import { makeSite, zddBin, type Site } from '../helpers/site.js';

const SECRET = 'sk_live_do_not_print_me';

describe('zdd deploy (real PM2 + Nginx, under load)', () => {
  let site: Site;
  let serverJs = '';

  beforeAll(async () => {
    site = await makeSite({
      version: 'v1',
      config: {
        backend: { readyTimeout: 5000, killTimeout: 8000, env: { NODE_ENV: 'production', API_KEY: SECRET } },
        healthcheck: { timeout: 5000 },
        hooks: { beforeSwitch: ['echo migrating $ZDD_RELEASE > ../migrated.txt'] },
      },
    });
    serverJs = await readFile(join(site.app, 'backend', 'server.js'), 'utf8');
  });

  afterAll(async () => {
    await site?.stop();
  });

  /** No request failed, of any of the three loads, and each of them ran. */
  const expectNoneFailed = async (report: SiteLoadReport, atLeast = 50) => {
    expect(report.failed, await site.explain(report)).toBe(0);
    for (const [kind, r] of Object.entries(report.kinds)) expect(r.total, kind).toBeGreaterThan(atLeast);
  };

  const restoreServer = () => writeFile(join(site.app, 'backend', 'server.js'), serverJs);
  const currentId = async () => (await readlink(join(site.deployTo, 'current'))).replace('releases/', '');
  /** Each test runs alone too: the ones that need a site serving v3 deploy it when nothing serves yet. */
  const serving = async () => {
    if (await currentId().catch(() => undefined)) return;
    await setVersion(site.app, 'v3');
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    await new Promise((res) => setTimeout(res, 1500)); // the first deploy reloaded Nginx
  };

  it('first deploy starts the app and serves v1 through Nginx', async () => {
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(await site.served()).toMatchObject({ page: 'v1', api: 'v1' });
    const id = await currentId();
    expect(id).toMatch(/^\d{14}$/);
    const info = JSON.parse(await readFile(join(site.deployTo, 'releases', id, 'release.json'), 'utf8'));
    expect(info.status).toBe('ok');
    expect(info.steps.canary).toBeGreaterThan(0);
    // beforeSwitch ran in the release's backend folder with ZDD_RELEASE set.
    expect((await readFile(join(site.deployTo, 'releases', id, 'migrated.txt'), 'utf8')).trim()).toBe(`migrating ${id}`);
    // The secret reached the app's environment but never the output.
    expect(r.all).not.toContain(SECRET);
    // The first deploy reloaded Nginx (nothing was served before); let its old workers finish first.
    await new Promise((res) => setTimeout(res, 1500));
  });

  it('deploys v2 and v3 with zero failed requests; a long request in flight completes', async () => {
    const { report } = await site.underLoad(async () => {
      for (const v of ['v2', 'v3']) {
        await setVersion(site.app, v);
        const before = await currentId();
        const slow = httpGet(`${site.nginx.url}/api/slow?ms=3000`);
        const r = await site.zdd(['deploy']);
        expect(r.exitCode, r.all).toBe(0);
        const s = await slow;
        expect(s.status).toBe(200);
        expect(await site.served()).toMatchObject({ page: v, api: v, release: await currentId() });
        expect(await currentId()).not.toBe(before);
        expect(r.all).toMatch(/nginx-reload — config unchanged/);
        // The example app drains on its own; zdd's reload safety says so and leaves it to it.
        expect(r.all).toMatch(/reload-safe by the app's own handling \(ready: the app; shutdown: the app's own handler/);
      }
    });
    await expectNoneFailed(report, 100);
    expect(report.versions.v2).toBeGreaterThan(0);
    expect(report.versions.v3).toBeGreaterThan(0);
  });

  it('a release that crashes at boot fails at the canary and is never served', async () => {
    await serving();
    const before = await currentId();
    await setVersion(site.app, 'broken-boot');
    await breakBackendAtBoot(site.app);
    const { value: r, report } = await site.underLoad(() => site.zdd(['deploy']));
    await restoreServer();
    await expectNoneFailed(report);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain('canary failed');
    expect(r.all).toContain('backend broken at boot'); // the tail of the canary's output
    expect(r.all).toContain(`the site still serves ${before}`);
    expect(await currentId()).toBe(before);
    expect(await site.served()).toMatchObject({ page: 'v3', api: 'v3' });
  });

  it('a release whose health check fails is never served', async () => {
    await serving();
    const before = await currentId();
    await setVersion(site.app, 'broken-health');
    await breakHealthcheck(site.app);
    const { value: r, report } = await site.underLoad(() => site.zdd(['deploy', '--json']));
    await restoreServer();
    await expectNoneFailed(report);
    expect(r.exitCode, r.all).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ command: 'deploy', result: 'failed', exitCode: 1, error: { step: 'canary' } });
    expect(doc.error.message).toMatch(/answered 500/);
    const failed = JSON.parse(await readFile(join(site.deployTo, 'releases', doc.release.id, 'release.json'), 'utf8'));
    expect(failed.status).toBe('failed');
    expect(await currentId()).toBe(before);
    expect(await site.served()).toMatchObject({ page: 'v3', api: 'v3' });
    expect(Object.keys(report.versions)).not.toContain('broken-boot');
    expect(Object.keys(report.versions)).not.toContain('broken-health');
  });

  it('a failing nginx test stops the deploy before the switch', async () => {
    await serving();
    const before = await currentId();
    await setVersion(site.app, 'v-nginx');
    const conf = await readFile(site.nginx.confPath, 'utf8');
    await writeFile(site.nginx.confPath, conf.replace('http {', 'http {\n  this_is_not_a_directive on;'));
    const { value: r, report } = await site.underLoad(() => site.zdd(['deploy']));
    await writeFile(site.nginx.confPath, conf);
    await expectNoneFailed(report);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain('nginx-test failed');
    expect(r.all).toContain('this_is_not_a_directive');
    expect(await currentId()).toBe(before);
    expect(await site.served()).toMatchObject({ api: 'v3' });
  });

  it('a release that passes the canary but fails under PM2 is switched back', async () => {
    await serving();
    const before = await currentId();
    await setVersion(site.app, 'broken-under-pm2');
    // Fails only in a PM2 worker (NODE_APP_INSTANCE is set by PM2), so the canary passes.
    await writeFile(
      join(site.app, 'backend', 'server.js'),
      serverJs.replace("'use strict';", "'use strict';\nif (process.env.NODE_APP_INSTANCE !== undefined) throw new Error('only under pm2');"),
    );
    const { value: r, report } = await site.underLoad(() => site.zdd(['deploy']));
    await restoreServer();
    // The switch-back too: the site never stopped answering, writes included.
    await expectNoneFailed(report);
    expect(r.exitCode, r.all).toBe(1);
    // Seen while PM2 reloads: current goes back at once, so PM2's restart of the worker runs v3.
    expect(r.all).toContain('pm2 failed');
    expect(r.all).toMatch(/instance \d of release \d{14} exited at boot under PM2/);
    expect(r.all).toContain('undo pm2');
    expect(await currentId()).toBe(before);
    // PM2 is back on the previous release, every worker.
    let served = await site.served();
    for (let i = 0; i < 20 && served.api !== 'v3'; i++) {
      await new Promise((res) => setTimeout(res, 500));
      served = await site.served();
    }
    expect(served).toMatchObject({ page: 'v3', api: 'v3', release: before });
  });

  it('a release that boots under PM2 but fails verify is switched back with no failed request', async () => {
    await serving();
    const before = await currentId();
    await setVersion(site.app, 'unhealthy-under-pm2');
    // Serves, but its health check fails in a PM2 worker only: the canary passes, verify does not.
    await breakHealthcheckUnderPm2(site.app);
    const { value: r, report } = await site.underLoad(() => site.zdd(['deploy']));
    await restoreServer();
    await expectNoneFailed(report);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain('verify failed');
    expect(r.all).toContain('undo pm2');
    expect(await currentId()).toBe(before);
    expect(await site.served()).toMatchObject({ api: 'v3', release: before });
  });

  it('deploys again after all the failures', async () => {
    await serving();
    await setVersion(site.app, 'v4');
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(await site.served()).toMatchObject({ page: 'v4', api: 'v4' });
  });

  it('a deploy and a rollback whose output nobody reads (`| head -3`) still run to the end: verified, recorded, lock released', async () => {
    await serving();
    const before = await currentId();
    await setVersion(site.app, 'v-piped');
    // `true` reads nothing and exits at once: every line zdd writes finds the pipe closed (EPIPE).
    const piped = (cmd: string) =>
      execa('bash', ['-c', `set -o pipefail; node ${JSON.stringify(zddBin)} ${cmd} --config ${JSON.stringify(site.configPath)} | true`], {
        env: site.env,
        cwd: site.app,
        reject: false,
        all: true,
      });
    const d = await piped('deploy');
    expect(d.exitCode, d.all).toBe(0);
    const id = await currentId();
    expect(id).not.toBe(before);
    expect(JSON.parse(await readFile(join(site.deployTo, 'releases', id, 'release.json'), 'utf8')).status).toBe('ok');
    expect(await site.served()).toMatchObject({ api: 'v-piped', release: id });
    await expect(readFile(join(site.deployTo, '.zdd', 'lock'), 'utf8')).rejects.toThrow(/ENOENT/);
    const r = await piped('rollback');
    expect(r.exitCode, r.all).toBe(0);
    expect(await currentId()).toBe(before);
    expect((await site.served()).release).toBe(before);
    await expect(readFile(join(site.deployTo, '.zdd', 'lock'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('reloads Nginx only when its config changed, and says why', async () => {
    await serving();
    const conf = await readFile(site.nginx.confPath, 'utf8');
    await writeFile(site.nginx.confPath, conf.replace('http {', 'http {\n    # changed by the test'));
    await setVersion(site.app, 'v5');
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/nginx-reload — .*the Nginx config changed since the last reload/);
    const again = await site.zdd(['deploy', '--force']);
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toMatch(/skip +nginx-reload — config unchanged/);
  });

  it('refuses, before the switch, an app that PM2 runs from a resolved release path', async () => {
    await serving();
    const before = await currentId();
    const pm2 = (args: string[]) => execa(pm2Bin, args, { env: { ...site.env, PORT: String(site.backendPort) }, cwd: site.deployTo, reject: false });
    await pm2(['delete', 'shop']);
    // What a hand-written script does: start the app from the folder `current` resolves to.
    const started = await pm2(['start', join(site.deployTo, 'releases', before, 'backend', 'server.js'), '--name', 'shop', '-i', '2']);
    expect(started.exitCode, started.stderr).toBe(0);
    await setVersion(site.app, 'v6');
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain('pm2-check failed');
    expect(r.all).toContain(`releases/${before}/backend/server.js`);
    expect(r.all).toContain('pm2 delete shop');
    expect(await currentId()).toBe(before);
    // The fix the hint gives: let zdd start it through current.
    await pm2(['delete', 'shop']);
    const fixed = await site.zdd(['deploy']);
    expect(fixed.exitCode, fixed.all).toBe(0);
    expect(await site.served()).toMatchObject({ page: 'v6', api: 'v6' });
  });
});
