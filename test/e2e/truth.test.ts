// What zdd says is true, end to end (real CLI, PM2, Nginx, the example app): a deploy whose Nginx
// upstream is on another port than backend.port fails before the switch; the traffic step's GET
// goes through Nginx to the backend; `status` counts restarts since go-live (0 after two deploys,
// though PM2's own count includes the reloads); `releases` shows a second release adding far less
// than its size (hard links counted once); the canary reports a file the app writes in its release.
import { execa } from 'execa';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVersion } from '../helpers/example.js';
import { makeSite, type Site } from '../helpers/site.js';

describe('zdd tells the truth (real PM2 + Nginx)', () => {
  let site: Site;
  let serverJs = '';
  let version = 0;

  beforeAll(async () => {
    site = await makeSite({ version: 'v0', config: { backend: { readyTimeout: 5000, killTimeout: 3000 }, healthcheck: { timeout: 5000 } } });
    serverJs = await readFile(join(site.app, 'backend', 'server.js'), 'utf8');
  });

  afterAll(async () => {
    await site?.stop();
  });

  const currentId = async () => (await readlink(join(site.deployTo, 'current')).catch(() => '')).replace('releases/', '');
  /** A deploy of the next version that must pass. */
  const deployNext = async () => {
    await setVersion(site.app, `v${++version}`);
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    return r;
  };

  it('two deploys: the traffic step reached the backend through Nginx; status shows 0 restarts since live', async () => {
    await deployNext();
    const r = await deployNext();
    expect(r.all).toMatch(/traffic.*GET http:\/\/127\.0\.0\.1:\d+\/healthz \(Host: localhost\) reached the backend through = \/healthz \(answered 200\)/);
    expect(r.all).toMatch(/nginx-test.*the site proxies = \/healthz to upstream zdd_backend \(127\.0\.0\.1:\d+\)/);

    const s = await site.zdd(['status', '--json']);
    expect(s.exitCode, s.all).toBe(0);
    const json = JSON.parse(s.stdout);
    expect(json.instances.length).toBe(2);
    for (const i of json.instances) {
      expect(i.restartsSinceLive, JSON.stringify(i)).toBe(0);
      // PM2's own count includes the reload of the second deploy: what status no longer shows as restarts.
      expect(i.restarts).toBeGreaterThanOrEqual(1);
    }
    const info = JSON.parse(await readFile(join(site.deployTo, 'releases', await currentId(), 'release.json'), 'utf8'));
    expect(info.workersAtLive.map((w: { restarts: number }) => w.restarts)).toEqual(json.instances.map((i: { restarts: number }) => i.restarts));
    const text = await site.zdd(['status']);
    expect(text.stdout).toMatch(/RESTARTS SINCE LIVE/);
  });

  it('releases: a release whose backend is reused adds far less than its size (the rest is hard links to the one before)', async () => {
    // 8 MiB in the backend (as node_modules would be), deployed once; then only the frontend changes,
    // so the next release takes the backend from this one by hard links.
    await writeFile(join(site.app, 'backend', 'big.bin'), Buffer.alloc(8 << 20, 7));
    await deployNext();
    await writeFile(join(site.app, 'frontend', 'src', 'version.json'), `${JSON.stringify({ version: `v${++version}` })}\n`);
    const d = await site.zdd(['deploy']);
    expect(d.exitCode, d.all).toBe(0);
    expect(d.all).toMatch(/build-backend.*reused|build-backend.*hard-link/i);
    const r = await site.zdd(['releases', '--json']);
    expect(r.exitCode, r.all).toBe(0);
    const [newest, older] = JSON.parse(r.stdout).releases as Array<{ sizeBytes: number; addsBytes: number }>;
    expect(newest!.sizeBytes).toBeGreaterThan(0);
    expect(newest!.addsBytes * 4, JSON.stringify(newest)).toBeLessThan(newest!.sizeBytes);
    expect(newest!.sizeBytes).toBeGreaterThan(8 << 20);
    expect(older!.addsBytes).toBeGreaterThan(8 << 20);
    const text = await site.zdd(['releases']);
    expect(text.stdout).toMatch(/SIZE\s+ADDS \(VS OLDER\)/);
  });

  it('the canary reports the database the app writes into backend/data while booting, with the shared.dirs line', async () => {
    await writeFile(
      join(site.app, 'backend', 'server.js'),
      serverJs.replace(
        "'use strict';",
        "'use strict';\nrequire('node:fs').mkdirSync(require('node:path').join(__dirname, 'data'), { recursive: true });\nrequire('node:fs').writeFileSync(require('node:path').join(__dirname, 'data', 'app.db'), 'SQLite format 3');",
      ),
    );
    try {
      const r = await deployNext();
      expect(r.all).toContain(
        `the app wrote data/app.db inside the release while booting: it would start empty in every new release; keep it in ${join(site.deployTo, 'shared')} with shared.dirs: ['data']`,
      );
    } finally {
      await writeFile(join(site.app, 'backend', 'server.js'), serverJs);
    }
  });

  it('an Nginx upstream on another port than backend.port: the deploy fails at nginx-test, before the switch; nothing changes', async () => {
    if (!(await currentId())) await deployNext();
    const before = await currentId();
    const conf = await readFile(site.nginx.confPath, 'utf8');
    const other = site.backendPort === 65000 ? 65001 : 65000;
    await writeFile(site.nginx.confPath, conf.replace(`server 127.0.0.1:${site.backendPort} `, `server 127.0.0.1:${other} `));
    try {
      await setVersion(site.app, `v${++version}`);
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(1);
      expect(r.all).toContain(
        `nginx proxies /api/ to 127.0.0.1:${other} (upstream zdd_backend), but backend.port is ${site.backendPort}: every /api request is a 502`,
      );
      expect(r.all).toMatch(/fail {2}nginx-test/);
      expect(r.all).toContain('nothing was switched');
      expect(r.all).not.toMatch(/switch\b.*current ->/);
      expect(await currentId()).toBe(before);
      // The running Nginx (never reloaded) still serves the release that was live.
      expect((await site.served()).api).toBe(`v${version - 1}`);
    } finally {
      await writeFile(site.nginx.confPath, conf);
    }
  });

  it('a running Nginx that still proxies to another port (its config fixed on disk, never reloaded): the traffic step fails after the switch and switches back', async () => {
    if (!(await currentId())) await deployNext();
    const before = await currentId();
    const conf = await readFile(site.nginx.confPath, 'utf8');
    const reload = () => execa('sh', ['-c', site.nginx.reloadCmd]);
    await writeFile(site.nginx.confPath, conf.replace(`server 127.0.0.1:${site.backendPort} `, 'server 127.0.0.1:9 '));
    try {
      await reload();
      await new Promise((r) => setTimeout(r, 1000));
      // On disk the config is right again (what nginx-test checks, and what zdd reloaded last).
      await writeFile(site.nginx.confPath, conf);
      await setVersion(site.app, `v${++version}`);
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(1);
      expect(r.all).toMatch(/fail {2}traffic .*got 502 Bad Gateway from Nginx itself \(it could not reach the backend\)/);
      expect(await currentId()).toBe(before);
    } finally {
      await writeFile(site.nginx.confPath, conf);
      await reload();
    }
  });
});
