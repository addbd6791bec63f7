// The canary's readiness check, with real processes on this machine: an app that answers its health
// check but never sends `ready` fails the step (PM2 would wait readyTimeout per worker and swap it in
// anyway), unless backend.waitReady is false; a late `ready` within readyTimeout is waited for.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ZddConfig } from '../../src/config/schema.js';
import { StepFailed } from '../../src/errors.js';
import { LocalHost } from '../../src/host/local.js';
import { deployPaths, releaseRef } from '../../src/lib/paths.js';
import { canary } from '../../src/steps/canary.js';
import type { DeployContext } from '../../src/steps/types.js';
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
    backend: { script: 'server.js', port: 4100, env: {}, readyTimeout: 1500, killTimeout: 3000, ...backend },
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
    expect(note).toMatch(/^\/healthz answered 200 on port \d+, sent 'ready'$/);
    expect(ctx.notes.canaryReady).toBe(true);
  });

  it("waits for a 'ready' that comes after the health check answers, within readyTimeout", async () => {
    const ctx = await contextFor(app("setTimeout(() => process.send?.('ready'), 700);"));
    expect(await canary.run(ctx)).toMatch(/sent 'ready'$/);
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
    expect(ctx.notes.canaryReady).toBe(false);
  });

  it('passes an app without ready when backend.waitReady is false', async () => {
    const ctx = await contextFor(app(''), { waitReady: false });
    const t0 = Date.now();
    expect(await canary.run(ctx)).toMatch(/^\/healthz answered 200 on port \d+$/);
    expect(Date.now() - t0).toBeLessThan(1400); // did not wait for ready
  });
});
