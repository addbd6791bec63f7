// The canary's readiness check, with real processes on this machine: an app that answers its health
// check but never sends `ready` fails the step (PM2 would wait readyTimeout per worker and swap it in
// anyway), unless backend.waitReady is false; a late `ready` within readyTimeout is waited for. And
// what else its boot tells: a native module that failed to load, a file the app wrote in its release.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ZddConfig } from '../../src/config/schema.js';
import { StepFailed } from '../../src/core/errors.js';
import { LocalHost } from '../../src/host/local.js';
import { deployPaths, releaseRef } from '../../src/releases/paths.js';
import { canary } from '../../src/steps/canary.js';
import type { DeployContext } from '../../src/core/types.js';
import { testContext } from '../helpers/context.js';
import { makeTempDir, removeDir } from '../helpers/example.js';

const made: { dir: string; ctx: DeployContext }[] = [];
afterEach(async () => {
  for (const { dir, ctx } of made.splice(0)) {
    await canary.cleanup!(ctx).catch(() => {});
    await removeDir(dir);
  }
});

/** A deploy context whose release holds backend/server.js = `source`. */
async function contextFor(source: string, backend: Record<string, unknown> = {}) {
  const dir = await makeTempDir('canary-');
  const paths = deployPaths(dir);
  const release = releaseRef(paths, '20261127103000');
  await mkdir(join(release.dir, 'backend'), { recursive: true });
  await mkdir(paths.state, { recursive: true });
  await writeFile(join(release.dir, 'backend', 'package.json'), JSON.stringify({ type: 'commonjs' }));
  await writeFile(join(release.dir, 'backend', 'server.js'), source);
  const config = {
    app: 'canary-test',
    deployTo: dir,
    keepReleases: 5,
    backend: { script: 'server.js', port: 4100, env: {}, readyTimeout: 1500, killTimeout: 3000, reloadSafe: false, waitReady: true, ...backend },
    healthcheck: { path: '/healthz', timeout: 5000 },
  } as unknown as ZddConfig;
  const { ctx } = testContext({ config, host: new LocalHost(), releaseId: release.id });
  made.push({ dir, ctx });
  return ctx;
}

const app = (listenCallback: string) =>
  `const http = require('node:http');\nconst server = http.createServer((req, res) => res.end('ok'));\nserver.listen(process.env.PORT, '127.0.0.1', () => { ${listenCallback} });\nprocess.on('SIGINT', () => server.close(() => process.exit(0)));\n`;

describe('canary readiness', () => {
  it("passes an app that sends 'ready' after listen", async () => {
    const ctx = await contextFor(app("process.send?.('ready');"));
    const note = await canary.run(ctx);
    expect(note).toMatch(/^\/healthz answered 200 on port \d+, sent 'ready'; backend\.reloadSafe is off$/);
  });

  it("waits for a 'ready' that comes after the health check answers, within readyTimeout", async () => {
    const ctx = await contextFor(app("setTimeout(() => process.send?.('ready'), 700);"));
    expect(await canary.run(ctx)).toMatch(/sent 'ready'; backend\.reloadSafe is off$/);
  });

  it("fails an app that answers but never sends 'ready', and explains why", async () => {
    const ctx = await contextFor(app(''));
    const t0 = Date.now();
    const err = await canary.run(ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StepFailed);
    const e = err as StepFailed;
    expect(e.step).toBe('canary');
    expect(e.message).toMatch(/answered \/healthz but never sent process\.send\('ready'\) \(waited \d+ ms, backend\.readyTimeout is 1500 ms\)/);
    expect(e.message).toMatch(/wait readyTimeout for every worker and then swap it in anyway/);
    expect(e.hint).toMatch(/reloadSafe\(\) from zdd\/runtime/);
    expect(e.hint).toMatch(/backend\.waitReady: false/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
  });

  it('passes an app without ready when backend.waitReady is false', async () => {
    const ctx = await contextFor(app(''), { waitReady: false });
    const t0 = Date.now();
    expect(await canary.run(ctx)).toMatch(/^\/healthz answered 200 on port \d+; backend\.reloadSafe is off$/);
    expect(Date.now() - t0).toBeLessThan(1400); // did not wait for ready
  });
});

/** The canary's failure, or undefined when it passed. */
const failure = (ctx: DeployContext) =>
  canary.run(ctx).then(
    () => undefined,
    (e: unknown) => e as StepFailed,
  );

describe('canary with zdd reload safety (backend.reloadSafe, the default)', () => {
  const plain = "require('node:http').createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');\n";

  it("passes an app with no ready and no SIGINT handler: zdd sends 'ready' once it listens on PORT", async () => {
    const ctx = await contextFor(plain, { reloadSafe: true });
    const note = await canary.run(ctx);
    expect(note).toMatch(/^\/healthz answered 200 on port \d+, sent 'ready'; reload-safe by zdd's reload safety \(ready: zdd; drain on SIGINT: zdd\)$/);
  });

  it("says so when the app's own ready and SIGINT handler take precedence", async () => {
    const ctx = await contextFor(app("process.send?.('ready');"), { reloadSafe: true });
    expect(await canary.run(ctx)).toMatch(/reload-safe by the app's own handling \(ready: the app; shutdown: the app's own handler/);
  });

  it('fails an app that listens on another port than PORT, naming both', async () => {
    const ctx = await contextFor("require('node:http').createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');\n", { reloadSafe: true });
    const t0 = Date.now();
    const e = await failure(ctx);
    expect(e).toBeInstanceOf(StepFailed);
    expect(e!.message).toMatch(/^the app listens on port \d+, not on PORT \(\d+\); zdd gives the app its port in PORT/);
    expect(e!.hint).toMatch(/listen on Number\(process\.env\.PORT\)/);
    // At readyTimeout (1500 ms), not at the end of healthcheck.timeout (5000 ms).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('fails an app that listens on no port within readyTimeout', async () => {
    const ctx = await contextFor("console.log('up, but no server');\nsetInterval(() => {}, 1000);\n", { reloadSafe: true });
    const e = await failure(ctx);
    expect(e).toBeInstanceOf(StepFailed);
    expect(e!.message).toBe('the app listened on no port within backend.readyTimeout (1500 ms)');
    expect(e!.tail).toContain('up, but no server');
  });
});

describe('canary findings, with real processes', () => {
  it('an app whose native module fails to load (a truncated .node): the failure names its package and how to get it built', async () => {
    const ctx = await contextFor("require('fake-native');\n", { root: '/home/dev/shop/server' });
    const pkg = join(ctx.release.dir, 'backend', 'node_modules', 'fake-native');
    await mkdir(join(pkg, 'build', 'Release'), { recursive: true });
    await writeFile(join(pkg, 'build', 'Release', 'fake.node'), 'garbage');
    await writeFile(join(pkg, 'index.js'), "module.exports = require('./build/Release/fake.node');\n");
    const err = (await canary.run(ctx).catch((e: unknown) => e)) as StepFailed;
    expect(err).toBeInstanceOf(StepFailed);
    expect(err.message).toMatch(/^the app exited at boot \(code 1\) before answering \/healthz: the native module of fake-native failed to load$/);
    expect(err.hint).toContain('`npm install-scripts approve fake-native` in the backend folder (server) and commit package.json');
    expect(err.hint).toContain(process.version);
  });

  it('an app that creates data/app.db in its release at boot: a warning with the shared.dirs line', async () => {
    const ctx = await contextFor(
      `require('node:fs').mkdirSync(__dirname + '/data', { recursive: true });\nrequire('node:fs').writeFileSync(__dirname + '/data/app.db', 'SQLite format 3');\n${app("process.send?.('ready');")}`,
    );
    const warnings: string[] = [];
    const warn = ctx.out.warn.bind(ctx.out);
    ctx.out.warn = (m: string) => {
      warnings.push(m);
      warn(m);
    };
    expect(await canary.run(ctx)).toMatch(/; the app wrote state inside the release \(1 warning\)$/);
    expect(warnings).toEqual([
      `the app wrote data/app.db inside the release while booting: it would start empty in every new release; keep it in ${ctx.paths.shared} with shared.dirs: ['data']`,
    ]);
  });
});
