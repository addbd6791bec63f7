// zdd doctor's app checks: it boots the app like the canary (real process, IPC channel, free port),
// checks `ready` and the health check, then sends SIGINT with a request in flight and an idle
// keep-alive connection open. Apps that get it wrong are flagged; the example apps pass.
import { execa } from 'execa';
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkAppLifecycle } from '../../src/doctor/boot.js';
import type { Check } from '../../src/doctor/check.js';
import { checkSessionStore } from '../../src/doctor/project.js';
import { loadConfig } from '../../src/config/load.js';
import { makeTempDir } from '../helpers/example.js';
import { repoRoot } from '../helpers/pm2.js';

const bin = join(repoRoot, 'bin', 'zdd');
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'bundle', 'cli.js'))) throw new Error('build first: npm run build');
  // doctor's install cache (stage.ts), here and in the CLIs these tests start: never the user's ~/.cache.
  process.env.XDG_CACHE_HOME = await makeTempDir('doctor-cache-');
});
afterAll(async () => {
  if (process.env.XDG_CACHE_HOME) await rm(process.env.XDG_CACHE_HOME, { recursive: true, force: true });
});

/** A project whose backend/server.js is `source`, with a short killTimeout so bad apps fail fast. */
async function project(source: string, backend: Record<string, unknown> = {}, files: Record<string, string> = {}) {
  const dir = await makeTempDir('doctor-app-');
  dirs.push(dir);
  await mkdir(join(dir, 'backend'));
  await writeFile(join(dir, 'backend', String(backend.script ?? 'server.js')), source);
  // The temp folder is inside this repository, whose package.json says "type": "module".
  const all = { 'package.json': JSON.stringify({ type: 'commonjs' }), ...files };
  for (const [f, text] of Object.entries(all)) await writeFile(join(dir, 'backend', f), text);
  const configPath = join(dir, 'zdd.config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      app: 'doctor-app',
      deployTo: join(dir, 'deploy'),
      // The app's own handling, as it is (zdd's reload safety off) unless a test turns it on.
      // No dependencies: the staged install (`true`) has nothing to do; doctor-stage.test.ts runs real installs.
      backend: { script: 'server.js', port: 4100, readyTimeout: 3000, killTimeout: 3000, reloadSafe: false, install: 'true', ...backend },
      healthcheck: { timeout: 5000 },
    }),
  );
  return { dir, configPath };
}

async function lifecycle(configPath: string): Promise<Record<string, Check>> {
  const checks = await checkAppLifecycle(await loadConfig({ configPath, cwd: repoRoot }));
  return Object.fromEntries(checks.map((c) => [c.name, c]));
}

const listen = "const http = require('node:http');\nconst server = http.createServer((req, res) => res.end('ok'));\n";

describe('doctor boots the app', () => {
  it('flags an app without a SIGINT handler (it dies at once): ✗ and exit 1', async () => {
    const { dir, configPath } = await project(`${listen}server.listen(process.env.PORT, () => process.send?.('ready'));\n`);
    const r = await execa(process.execPath, [bin, 'doctor', '--config', configPath], { cwd: dir, reject: false, env: { CI: '1', NO_COLOR: '1' } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^✓ app boot\s+booted a staged copy installed with `true` \(\d+\.\d s\): sent 'ready' after \d+ ms, \/healthz answered 200/m);
    expect(r.stdout).toMatch(/^✗ app SIGINT\s+no SIGINT handler: the app died at once on SIGINT/m);
    expect(r.stdout).toMatch(/fix: handle SIGINT: .*reloadSafe\(\)/);
  });

  it('passes the example app (examples/shop), every app row ✓', async () => {
    const dir = await makeTempDir('doctor-shop-');
    dirs.push(dir);
    await cp(join(repoRoot, 'examples', 'shop', 'backend'), join(dir, 'backend'), { recursive: true });
    const configPath = join(dir, 'zdd.config.json');
    await writeFile(
      configPath,
      JSON.stringify({ app: 'shop', deployTo: join(dir, 'deploy'), backend: { script: 'server.js', port: 3000, killTimeout: 8000 } }),
    );
    const r = await execa(process.execPath, [bin, 'doctor', '--config', configPath, '--json'], { cwd: dir, reject: false, env: { CI: '1' } });
    const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
    const app = checks.filter((c) => c.name.startsWith('app ') || c.name === 'sessions');
    expect(app.map((c) => c.name)).toEqual([
      'app ready/shutdown',
      'app boot',
      'app reload safety',
      'app SIGINT',
      'app keep-alive',
      'app exit',
      'app state',
      'sessions',
    ]);
    expect(checks.find((c) => c.name === 'app boot')?.detail).toMatch(/^booted a staged copy installed with `npm ci --omit=dev` \(\d+\.\d s\)/);
    expect(checks.find((c) => c.name === 'app reload safety')?.detail).toMatch(/^the app's own handling \(ready: the app; shutdown: the app's own handler/);
    for (const c of app) expect(c, JSON.stringify(c)).toMatchObject({ level: 'ok' });
    // zdd's drain runs before the app's own SIGINT handler (which would answer 503 from then on).
    expect(checks.find((c) => c.name === 'app SIGINT')?.detail).toMatch(/answered \(200\) with Connection: close/);
    expect(checks.find((c) => c.name === 'app keep-alive')?.detail).toMatch(/closed cleanly \(FIN\)/);
    expect(checks.find((c) => c.name === 'app exit')?.detail).toMatch(
      /^exited 0 \d+ ms after SIGINT, after leaving the cluster \(backend.killTimeout 8000 ms\)$/,
    );
  });

  it('passes an unmodified app (no ready, no SIGINT handler) with zdd reload safety on, and says it is zdd doing it', async () => {
    const { configPath } = await project(`${listen}server.listen(process.env.PORT);\n`, { reloadSafe: true });
    const c = await lifecycle(configPath);
    for (const name of ['app boot', 'app reload safety', 'app SIGINT', 'app keep-alive', 'app exit'])
      expect(c[name], `${name}: ${c[name]?.detail}`).toMatchObject({ level: 'ok' });
    expect(c['app reload safety']!.detail).toBe("zdd's reload safety (ready: zdd; drain on SIGINT: zdd)");
    expect(c['app SIGINT']!.detail).toMatch(/answered \(200\) with Connection: close/);
    expect(c['app exit']!.detail).toMatch(/after leaving the cluster/);
  });

  it("with zdd reload safety on, an app's own SIGINT handler that exits at once runs but cuts nothing", async () => {
    const { configPath } = await project(
      `${listen}server.listen(process.env.PORT, () => process.send?.('ready'));\nprocess.on('SIGINT', () => { console.log('own cleanup ran'); server.close(); process.exit(0); });\n`,
      { reloadSafe: true },
    );
    const c = await lifecycle(configPath);
    for (const name of ['app boot', 'app reload safety', 'app SIGINT', 'app exit'])
      expect(c[name], `${name}: ${c[name]?.detail}`).toMatchObject({ level: 'ok' });
    expect(c['app reload safety']!.detail).toMatch(/^the app's own handling \(ready: the app; shutdown: the app's own handler/);
    expect(c['app SIGINT']!.detail).toMatch(/answered \(200\) with Connection: close/);
  });

  it('with zdd reload safety on, flags an app that listens on another port than PORT', async () => {
    const { configPath } = await project(`${listen}server.listen(0);\n`, { reloadSafe: true, waitReady: false });
    const c = await lifecycle(configPath);
    expect(c['app boot']).toMatchObject({ level: 'fail' });
    expect(c['app boot']!.detail).toMatch(/\/healthz did not answer 2xx within \d+ ms/);
  });

  it('passes an app that uses the runtime helper (templates/reload-safe.mjs)', async () => {
    const { configPath } = await project(
      `import http from 'node:http';
import { reloadSafe } from ${JSON.stringify(join(repoRoot, 'templates', 'reload-safe.mjs'))};
const server = http.createServer((req, res) => { res.statusCode = life.isDraining() ? 503 : 200; res.end('x'); });
server.listen(process.env.PORT);
const life = reloadSafe(server);
`,
      { script: 'server.mjs' },
    );
    const c = await lifecycle(configPath);
    for (const name of ['app boot', 'app SIGINT', 'app keep-alive', 'app exit']) expect(c[name], name).toMatchObject({ level: 'ok' });
    expect(c['app SIGINT']!.detail).toMatch(/answered \(503\) with Connection: close/);
    expect(c['app exit']!.detail).toMatch(/after leaving the cluster/);
  });

  it("fails an app that never sends 'ready' (unless backend.waitReady is false)", async () => {
    const src = `${listen}server.listen(process.env.PORT);\nprocess.on('SIGINT', () => { server.close(); setTimeout(() => process.exit(0), 1000); });\n`;
    const { configPath } = await project(src, { readyTimeout: 1000 });
    const c = await lifecycle(configPath);
    expect(c['app boot']).toMatchObject({ level: 'fail' });
    expect(c['app boot']!.detail).toMatch(/never sent 'ready' within backend.readyTimeout \(1000 ms\)/);
    expect(c['app boot']!.fix).toMatch(/waitReady: false/);
    const relaxed = await project(src, { readyTimeout: 1000, waitReady: false });
    expect((await lifecycle(relaxed.configPath))['app boot']).toMatchObject({ level: 'ok' });
  });

  it('fails an app that ignores SIGINT (PM2 would SIGKILL it) and says why it hung', async () => {
    const { configPath } = await project(
      `${listen}server.listen(process.env.PORT, () => process.send?.('ready'));\nprocess.on('SIGINT', () => console.log('ignored'));\n`,
    );
    const c = await lifecycle(configPath);
    expect(c['app exit']).toMatchObject({ level: 'fail' });
    expect(c['app exit']!.detail).toMatch(/did not exit within backend.killTimeout \(3000 ms\)/);
    expect(c['app keep-alive']).toMatchObject({ level: 'warn' });
  });

  it('warns about an app that exits at once without leaving the cluster, and one that keeps answered connections alive', async () => {
    const quick = await project(
      `${listen.replace("res.end('ok')", "{ res.setHeader('connection', 'close'); res.end('ok'); }")}server.listen(process.env.PORT, () => process.send?.('ready'));\nprocess.on('SIGINT', () => server.close(() => process.exit(0)));\n`,
    );
    const q = await lifecycle(quick.configPath);
    expect(q['app SIGINT']).toMatchObject({ level: 'ok' });
    expect(q['app exit']).toMatchObject({ level: 'warn' });
    expect(q['app exit']!.detail).toMatch(/did not leave the cluster first/);

    // The classic `server.close(() => process.exit(0))`: the connection whose request was in flight
    // stays alive after its answer, so close() waits for the keep-alive timeout (here 1.5 s).
    const classic = await project(
      `${listen}server.keepAliveTimeout = 1500;\nserver.listen(process.env.PORT, () => process.send?.('ready'));\nprocess.on('SIGINT', () => server.close(() => process.exit(0)));\n`,
    );
    const k = await lifecycle(classic.configPath);
    expect(k['app SIGINT']).toMatchObject({ level: 'warn' });
    expect(k['app SIGINT']!.detail).toMatch(/without Connection: close/);
    expect(k['app exit']).toMatchObject({ level: 'warn' });
    expect(k['app exit']!.detail).toMatch(/kept alive after its answer/);
  });

  it('fails an app that cuts the request in flight (process.exit at once)', async () => {
    const { configPath } = await project(
      `${listen}server.listen(process.env.PORT, () => process.send?.('ready'));\nprocess.on('SIGINT', () => process.exit(0));\n`,
    );
    const c = await lifecycle(configPath);
    expect(c['app SIGINT']).toMatchObject({ level: 'fail' });
    expect(c['app SIGINT']!.detail).toMatch(/got no answer/);
  });

  it('boots a staged copy of the working tree, and the release current points at only when the working tree has no entry', async () => {
    const { dir, configPath } = await project(`${listen}throw new Error('the working tree is what the next deploy ships');\n`);
    const rel = join(dir, 'deploy', 'releases', '20260101000000', 'backend');
    await mkdir(rel, { recursive: true });
    await cp(join(repoRoot, 'examples', 'shop', 'backend'), rel, { recursive: true });
    await symlink('releases/20260101000000', join(dir, 'deploy', 'current'));
    const staged = await lifecycle(configPath);
    expect(staged['app boot']).toMatchObject({ level: 'fail' });
    expect(staged['app boot']!.detail).toMatch(/^booted a staged copy .*the working tree is what the next deploy ships/);

    await rm(join(dir, 'backend', 'server.js'));
    const c = await lifecycle(configPath);
    expect(c['app boot']).toMatchObject({ level: 'ok' });
    expect(c['app boot']!.detail).toMatch(/^booted release 20260101000000 \(current\)/);
  });

  it('reports an app that crashes at boot with its output', async () => {
    const { configPath } = await project(`throw new Error('boom at boot');\n`);
    const c = await lifecycle(configPath);
    expect(c['app boot']).toMatchObject({ level: 'fail' });
    expect(c['app boot']!.detail).toMatch(/exited \(code 1\) before answering \/healthz: .*boom at boot/);
  });
});

describe('doctor: sessions kept in memory', () => {
  const cfg = async (files: Record<string, string>, deps: Record<string, string>) => {
    const { configPath } = await project('', {}, { ...files, 'package.json': JSON.stringify({ dependencies: deps }) });
    return loadConfig({ configPath, cwd: repoRoot });
  };

  it('warns about express-session without a store', async () => {
    const c = checkSessionStore(
      await cfg(
        { 'app.js': "const session = require('express-session');\napp.use(session({ secret: 's', resave: false }));\n" },
        { 'express-session': '^1.18.0' },
      ),
    );
    expect(c.level).toBe('warn');
    expect(c.detail).toMatch(/express-session used without a store in .*backend\/app\.js: .*every reload logs every user out/);
    expect(c.fix).toMatch(/connect-redis/);
  });

  it('accepts express-session with a store, and no session middleware at all', async () => {
    const withStore = checkSessionStore(
      await cfg(
        {
          'app.js':
            "import session from 'express-session';\nimport { RedisStore } from 'connect-redis';\napp.use(session({ store: new RedisStore({ client }), secret: 's' }));\n",
        },
        { 'express-session': '^1', 'connect-redis': '^8' },
      ),
    );
    expect(withStore.level).toBe('ok');
    expect(checkSessionStore(await cfg({ 'app.js': 'console.log(1)' }, {})).level).toBe('ok');
  });

  it('still warns when the store is an explicit MemoryStore', async () => {
    const c = checkSessionStore(
      await cfg(
        { 'app.js': "const session = require('express-session');\napp.use(session({ store: new session.MemoryStore(), secret: 's' }));\n" },
        { 'express-session': '^1' },
      ),
    );
    expect(c.level).toBe('warn');
  });
});
