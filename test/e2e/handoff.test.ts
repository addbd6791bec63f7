// The cluster handoff, end to end with real PM2 (temp PM2_HOME) in cluster mode: for a moment after
// server.close() the PM2 primary may still hand a draining worker a connection, and a worker that
// exits then strands it (the client hangs). The runtime helper leaves the cluster first
// (cluster.worker.disconnect(), a round trip to the primary) instead of waiting a fixed second.
// Many reloads under a load that opens a new connection per request must lose nothing.
// (bench/bench.test.ts measures the same reloads with an app that exits at once: requests hang.)
import { readFile, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoad } from '../helpers/load.js';
import { pm2Bin, repoRoot, tempPm2Home, type TempPm2Home } from '../helpers/pm2.js';
import { freePort } from '../helpers/ports.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RELOADS = 12;

describe('PM2 cluster handoff with the runtime helper', () => {
  let pm2: TempPm2Home;
  let port: number;
  const run = (...args: string[]) => execFileAsync(pm2Bin, args, { env: pm2.env, timeout: 60_000 });

  beforeAll(async () => {
    pm2 = await tempPm2Home();
    port = await freePort();
    const eco = join(pm2.home, 'handoff.config.cjs');
    const app = {
      name: 'handoff',
      script: join(repoRoot, 'test', 'fixtures', 'reload-safe', 'app.mjs'),
      cwd: join(repoRoot, 'test', 'fixtures', 'reload-safe'),
      instances: 2,
      exec_mode: 'cluster',
      wait_ready: true,
      listen_timeout: 8000,
      kill_timeout: 8000,
      merge_logs: true,
      out_file: join(pm2.home, 'app.out.log'),
      error_file: join(pm2.home, 'app.err.log'),
      env: { PORT: String(port), ZDD_KILL_TIMEOUT: '8000' },
    };
    await writeFile(eco, `module.exports = { apps: [${JSON.stringify(app)}] };\n`);
    await run('start', eco);
  });

  afterAll(async () => {
    await pm2?.kill();
  });

  it(`${RELOADS} reloads under a new-connection-per-request load lose no request; every old worker drained and logged it`, async () => {
    const load = startLoad({ url: `http://127.0.0.1:${port}`, paths: ['/'], concurrency: 32, keepAlive: false, requestTimeoutMs: 5000, maxDurationMs: 120_000 });
    try {
      for (let i = 0; i < RELOADS; i++) {
        await sleep(200);
        await run('reload', 'handoff');
      }
      await sleep(500);
    } finally {
      await load.stop();
    }
    const report = load.snapshot();
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.ok).toBeGreaterThan(1000);
    const out = await readFile(join(pm2.home, 'app.out.log'), 'utf8');
    // Each of the 2 × RELOADS old workers drained and exited (the runtime helper's own lines).
    expect(out.match(/drained after \d+ ms; exiting/g)?.length).toBe(2 * RELOADS);
    // None had to give up on the primary's answer (test/unit/runtime.test.ts shows the order: the
    // primary confirms, the IPC channel closes, then the exit).
    expect(await readFile(join(pm2.home, 'app.err.log'), 'utf8')).not.toMatch(/did not confirm/);
  }, 180_000);
});
