// The cluster handoff, end to end with real PM2 (temp PM2_HOME) in cluster mode: for a moment after
// server.close() the PM2 primary may still hand a draining worker a connection, and a worker that
// exits then strands it (the client hangs). The runtime helper leaves the cluster first
// (cluster.worker.disconnect(), a round trip to the primary) instead of waiting a fixed second.
// Many reloads under a load that opens a new connection per request must lose nothing.
// (bench/handoff.test.ts measures the same reloads with an app that exits at once: requests hang.)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reloadsUnderLoad, startHandoffCluster, type HandoffCluster } from '../helpers/handoff.js';
import { repoRoot } from '../helpers/pm2.js';

const RELOADS = 12;

describe('PM2 cluster handoff with the runtime helper', () => {
  let cluster: HandoffCluster | undefined;

  beforeAll(async () => {
    cluster = await startHandoffCluster(join(repoRoot, 'test', 'fixtures', 'reload-safe', 'app.mjs'));
  });

  afterAll(async () => {
    await cluster?.pm2.kill();
  });

  it(`${RELOADS} reloads under a new-connection-per-request load lose no request; every old worker drained and logged it`, async () => {
    const { report } = await reloadsUnderLoad(cluster!, { reloads: RELOADS, concurrency: 32, settleMs: 500 });
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.ok).toBeGreaterThan(1000);
    const out = await readFile(cluster!.outLog, 'utf8');
    // Each of the 2 × RELOADS old workers drained and exited (the runtime helper's own lines).
    expect(out.match(/drained after \d+ ms; exiting/g)?.length).toBe(2 * RELOADS);
    // None had to give up on the primary's answer (test/integration/runtime.test.ts shows the order: the
    // primary confirms, the IPC channel closes, then the exit).
    expect(await readFile(cluster!.errLog, 'utf8')).not.toMatch(/did not confirm/);
  }, 180_000);
});
