// Fast deploys end to end (issue 8): the real CLI, real PM2 (temp PM2_HOME), real Nginx on loopback,
// the example app with one real (vendored, offline) dependency. What is skipped and why, what is
// served after a cached deploy, a changed lockfile forcing an install, --force, --no-cache, and a
// no-change deploy that touches nothing. Behaviour only; the timings are bench/bench.test.ts's.
import { execa } from 'execa';
import { mkdir, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, type SiteLoadHandle } from '../helpers/load.js';
import { makeSite, type Site } from '../helpers/site.js';

const T = 180_000;

describe('fast deploys: content-addressed skips, no-op, --force, --no-cache (real PM2 + Nginx)', () => {
  let site: Site;
  let load: SiteLoadHandle | undefined;
  const backend = () => join(site.app, 'backend');
  const currentId = async () => (await readlink(join(site.deployTo, 'current'))).replace('releases/', '');
  const releases = () => readdir(join(site.deployTo, 'releases'));
  const releaseJson = async (id: string) => JSON.parse(await readFile(join(site.deployTo, 'releases', id, 'release.json'), 'utf8'));
  const ino = async (id: string, rel: string) => (await stat(join(site.deployTo, 'releases', id, rel))).ino;
  /** The API straight from the PM2 cluster: version, release, the worker's pid and the dependency's version. */
  const api = async () =>
    JSON.parse((await httpGet(`http://127.0.0.1:${site.backendPort}/api/version`)).body) as { version: string; release: string; pid: number; tiny: string };
  /** The pids answering (20 requests: PM2 round-robins them over the workers). */
  const pids = async () => {
    const s = new Set<number>();
    for (let i = 0; i < 20; i++) s.add((await api()).pid);
    return [...s].sort();
  };

  /** backend/vendor/zdd-tiny-<v>.tgz, a dependency of the backend installed from the file (no network). */
  async function vendorTiny(version: string) {
    const src = join(site.work, `tiny-${version}`, 'package');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'package.json'), JSON.stringify({ name: 'zdd-tiny', version, main: 'index.js' }));
    await writeFile(join(src, 'index.js'), "module.exports = require('./package.json').version;\n");
    await mkdir(join(backend(), 'vendor'), { recursive: true });
    await execa('tar', ['-czf', join(backend(), 'vendor', `zdd-tiny-${version}.tgz`), '-C', join(src, '..'), 'package']);
    const pkgPath = join(backend(), 'package.json');
    const pkg = JSON.parse(await readFile(pkgPath, 'utf8'));
    pkg.dependencies = { 'zdd-tiny': `file:vendor/zdd-tiny-${version}.tgz` };
    await writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
    await execa('npm', ['install', '--package-lock-only', '--offline', '--no-audit', '--no-fund'], { cwd: backend() });
  }
  const writeVersion = (part: 'frontend' | 'backend', v: string) =>
    writeFile(join(site.app, part, ...(part === 'frontend' ? ['src', 'version.json'] : ['version.json'])), `${JSON.stringify({ version: v }, null, 2)}\n`);

  beforeAll(async () => {
    site = await makeSite({
      version: 'v1',
      config: { backend: { readyTimeout: 5000, killTimeout: 4000 }, healthcheck: { timeout: 8000 } },
    });
    // The API also says which version of the dependency it loaded.
    const serverPath = join(backend(), 'server.js');
    const server = await readFile(serverPath, 'utf8');
    const patched = server.replace('{ version, release, pid: process.pid }', "{ version, release, pid: process.pid, tiny: require('zdd-tiny') }");
    expect(patched).not.toBe(server);
    await writeFile(serverPath, patched);
    await vendorTiny('1.0.0');
  }, T);

  afterAll(async () => {
    await load?.stop();
    await site?.stop();
  });

  it(
    'first deploy builds and installs everything and records the input hashes',
    async () => {
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toMatch(/done {2}build-frontend .*— built \(first deploy\)/);
      expect(r.all).toMatch(/done {2}build-backend .*— copied \(first deploy\); ran alongside build-frontend/);
      expect(r.all).toMatch(/done {2}install .*— installed \(first deploy\)/);
      const info = await releaseJson(await currentId());
      for (const part of ['frontend', 'backend', 'install', 'config']) expect(info.inputs[part]).toMatch(/^[0-9a-f]{64}$/);
      expect(info.reused).toEqual({});
      expect(info.parallel['build-backend']).toBeGreaterThanOrEqual(0);
      expect(await site.served()).toMatchObject({ page: 'v1', api: 'v1' });
      expect((await api()).tiny).toBe('1.0.0');
      await new Promise((res) => setTimeout(res, 1500)); // the first deploy reloaded Nginx
      load = site.load({ maxDurationMs: 900_000 });
    },
    T,
  );

  it(
    'a no-change redeploy is a no-op: exit 0, no new release, PM2 not reloaded',
    async () => {
      const before = { id: await currentId(), releases: await releases(), pids: await pids() };
      expect(before.pids.length).toBe(2);
      const r = await site.zdd(['deploy', '--json']);
      expect(r.exitCode, r.all).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ command: 'deploy', result: 'ok', exitCode: 0, noop: true, release: { id: before.id } });
      expect(r.stderr).toMatch(/nothing changed since \d{14}.*no new release, no reload.*--force/);
      const human = await site.zdd(['deploy']);
      expect(human.exitCode, human.all).toBe(0);
      expect(human.all).toMatch(/nothing changed since/);
      expect(human.all).not.toMatch(/start (lock|prepare|pm2)/);
      const dry = await site.zdd(['deploy', '--dry-run']);
      expect(dry.exitCode, dry.all).toBe(0);
      expect(dry.all).toMatch(/a deploy would do nothing/);
      expect(await currentId()).toBe(before.id);
      expect(await releases()).toEqual(before.releases);
      expect(await pids()).toEqual(before.pids);
    },
    T,
  );

  it(
    '--force deploys anyway, every part hard-linked from the current release, and serves it',
    async () => {
      const prev = await currentId();
      const pidsBefore = await pids();
      const r = await site.zdd(['deploy', '--force']);
      expect(r.exitCode, r.all).toBe(0);
      const id = await currentId();
      expect(id).not.toBe(prev);
      expect(r.all).toMatch(
        new RegExp(`done {2}build-frontend .*— skipped \`npm run build\`: same inputs as ${prev} \\([0-9a-f]{12}\\); hard-linked its \\d+ files`),
      );
      expect(r.all).toMatch(new RegExp(`done {2}build-backend .*— skipped the copy: same inputs as ${prev}`));
      expect(r.all).toMatch(
        new RegExp(`done {2}install .*— skipped \`npm ci --omit=dev --no-audit --no-fund\`: same inputs as ${prev} .*\`npm ls --omit=dev --depth=0\` passed`),
      );
      expect(r.all).toMatch(/skip +nginx-reload — config unchanged/);
      expect((await releaseJson(id)).reused).toEqual({ frontend: prev, backend: prev, install: prev });
      for (const rel of ['frontend/index.html', 'backend/server.js', 'backend/node_modules/zdd-tiny/index.js']) {
        expect(await ino(id, rel), rel).toBe(await ino(prev, rel));
      }
      expect(await site.served()).toMatchObject({ page: 'v1', api: 'v1', release: id });
      expect((await api()).tiny).toBe('1.0.0');
      expect(await pids()).not.toEqual(pidsBefore); // reloaded
    },
    T,
  );

  it(
    'a frontend-only change builds the frontend, reuses the backend and node_modules; the new page is served',
    async () => {
      const prev = await currentId();
      await writeVersion('frontend', 'v2-page');
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(0);
      const id = await currentId();
      expect(r.all).toMatch(/changed since \d{14}: frontend$/m);
      expect(r.all).toMatch(/done {2}build-frontend .*— built \(inputs \([0-9a-f]{12}\) differ from every kept release\)/);
      expect(r.all).toMatch(new RegExp(`done {2}build-backend .*— skipped the copy: same inputs as ${prev}`));
      expect(r.all).toMatch(new RegExp(`done {2}install .*— skipped \`npm ci[^\`]*\`: same inputs as ${prev}`));
      expect((await releaseJson(id)).reused).toEqual({ backend: prev, install: prev });
      expect(await ino(id, 'backend/server.js')).toBe(await ino(prev, 'backend/server.js'));
      expect(await ino(id, 'frontend/index.html')).not.toBe(await ino(prev, 'frontend/index.html'));
      expect(await site.served()).toMatchObject({ page: 'v2-page', api: 'v1', release: id });
    },
    T,
  );

  it(
    'a backend-only change copies the backend and takes the frontend from the release that built it',
    async () => {
      const prev = await currentId();
      await writeVersion('backend', 'v2-api');
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(0);
      const id = await currentId();
      expect(r.all).toMatch(/changed since \d{14}: backend$/m);
      expect(r.all).toMatch(new RegExp(`done {2}build-frontend .*— skipped \`npm run build\`: same inputs as ${prev}`));
      expect(r.all).toMatch(/done {2}build-backend .*— copied \(inputs/);
      expect((await releaseJson(id)).reused).toEqual({ frontend: prev, install: prev });
      expect(await site.served()).toMatchObject({ page: 'v2-page', api: 'v2-api', release: id });
      // The page's own assets answer through Nginx from the reused files.
      const page = (await httpGet(`${site.nginx.url}/`)).body;
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
      expect(asset).toBeDefined();
      expect((await httpGet(`${site.nginx.url}${asset}`)).status).toBe(200);
    },
    T,
  );

  it(
    'going back to an earlier tree reuses the kept release that was built from it',
    async () => {
      const first = (await releases()).sort()[0]!;
      await writeVersion('frontend', 'v1');
      await writeVersion('backend', 'v1');
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(0);
      const info = await releaseJson(await currentId());
      expect(info.reused.install).toBeDefined();
      expect(info.reused.frontend).toBeDefined();
      expect(info.reused.backend).toBeDefined();
      expect(info.inputs).toEqual((await releaseJson(first)).inputs);
      expect(await site.served()).toMatchObject({ page: 'v1', api: 'v1' });
    },
    T,
  );

  it(
    'a changed lockfile forces an install',
    async () => {
      const lockPath = join(backend(), 'package-lock.json');
      // The same lock, written differently: only its bytes changed.
      await writeFile(lockPath, `${JSON.stringify(JSON.parse(await readFile(lockPath, 'utf8')), null, 4)}\n`);
      const prev = await currentId();
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(0);
      const id = await currentId();
      expect(r.all).toMatch(/changed since \d{14}: backend, dependencies$/m);
      expect(r.all).toMatch(/done {2}install .*— installed \(inputs \([0-9a-f]{12}\) differ from every kept release\)/);
      expect((await releaseJson(id)).reused.install).toBeUndefined();
      expect(await ino(id, 'backend/node_modules/zdd-tiny/index.js')).not.toBe(await ino(prev, 'backend/node_modules/zdd-tiny/index.js'));

      // A real upgrade: the new version is what the app loads.
      await vendorTiny('1.0.1');
      const up = await site.zdd(['deploy']);
      expect(up.exitCode, up.all).toBe(0);
      expect(up.all).toMatch(/done {2}install .*— installed/);
      expect((await api()).tiny).toBe('1.0.1');
    },
    T,
  );

  it(
    '--no-cache rebuilds and reinstalls everything (and deploys even with no change)',
    async () => {
      const prev = await currentId();
      const r = await site.zdd(['deploy', '--no-cache']);
      expect(r.exitCode, r.all).toBe(0);
      const id = await currentId();
      expect(id).not.toBe(prev);
      expect(r.all).toMatch(/done {2}build-frontend .*— built \(--no-cache\)/);
      expect(r.all).toMatch(/done {2}build-backend .*— copied \(--no-cache\)/);
      expect(r.all).toMatch(/done {2}install .*— installed \(--no-cache\)/);
      expect((await releaseJson(id)).reused).toEqual({});
      expect((await releaseJson(id)).inputs).toEqual((await releaseJson(prev)).inputs);
      for (const rel of ['frontend/index.html', 'backend/server.js', 'backend/node_modules/zdd-tiny/index.js']) {
        expect(await ino(id, rel), rel).not.toBe(await ino(prev, rel));
      }
      expect(await site.served()).toMatchObject({ page: 'v1', api: 'v1', release: id });
      expect((await api()).tiny).toBe('1.0.1');
    },
    T,
  );

  it(
    'backend.env counts: a new variable changes the config, a new value the PM2 settings',
    async () => {
      const setEnv = async (value: string) => {
        const cfg = JSON.parse(await readFile(site.configPath, 'utf8'));
        cfg.backend.env = { ...cfg.backend.env, FEATURE: value };
        await writeFile(site.configPath, JSON.stringify(cfg, null, 2));
      };
      await setEnv('on');
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toMatch(/changed since \d{14}: config$/m);
      await setEnv('off');
      const r2 = await site.zdd(['deploy']);
      expect(r2.exitCode, r2.all).toBe(0);
      expect(r2.all).toMatch(/changed since \d{14}: the PM2 settings/);
    },
    T,
  );

  it('no failed request through all of the above', async () => {
    const report = await load!.stop();
    load = undefined;
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.total).toBeGreaterThan(100);
  });
});
