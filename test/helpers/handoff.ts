// A PM2 cluster (2 workers, wait_ready) of one script in its own temp PM2_HOME, reloaded again and
// again under a load that opens a new connection per request: what test/e2e/handoff.test.ts and
// bench/handoff.test.ts both do to catch connections stranded in PM2's primary.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startLoad, type LoadReport } from './load.js';
import { pm2Bin, tempPm2Home, type TempPm2Home } from './pm2.js';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface HandoffCluster {
  pm2: TempPm2Home;
  port: number;
  /** The workers' merged stdout and stderr logs. */
  outLog: string;
  errLog: string;
  /** `pm2 reload handoff` (the CLI). */
  reload(): Promise<void>;
}

/** Start `script` as app "handoff": cluster, 2 instances, wait_ready, kill_timeout 8 s, on a free PORT. */
export async function startHandoffCluster(script: string, env: Record<string, string> = {}): Promise<HandoffCluster> {
  const pm2 = await tempPm2Home();
  try {
    const port = await freePort();
    const outLog = join(pm2.home, 'app.out.log');
    const errLog = join(pm2.home, 'app.err.log');
    const app = {
      name: 'handoff',
      script,
      cwd: dirname(script),
      instances: 2,
      exec_mode: 'cluster',
      wait_ready: true,
      listen_timeout: 8000,
      kill_timeout: 8000,
      merge_logs: true,
      out_file: outLog,
      error_file: errLog,
      env: { PORT: String(port), ZDD_KILL_TIMEOUT: '8000', ...env },
    };
    const eco = join(pm2.home, 'handoff.config.cjs');
    await writeFile(eco, `module.exports = { apps: [${JSON.stringify(app)}] };\n`);
    const run = async (...args: string[]) => void (await execFileAsync(pm2Bin, args, { env: pm2.env, timeout: 60_000 }));
    await run('start', eco);
    return { pm2, port, outLog, errLog, reload: () => run('reload', 'handoff') };
  } catch (err) {
    await pm2.kill();
    throw err;
  }
}

/**
 * `reloads` reloads, 200 ms apart, under `concurrency` loops that each open a new connection per GET
 * straight at the cluster's port (no retries, 5 s timeout: a stranded connection is a timeout),
 * counted until `settleMs` after the last reload.
 */
export async function reloadsUnderLoad(
  cluster: HandoffCluster,
  opts: { reloads: number; concurrency: number; settleMs: number },
): Promise<{ report: LoadReport; reloadMs: number[] }> {
  const load = startLoad({
    url: `http://127.0.0.1:${cluster.port}`,
    paths: ['/'],
    concurrency: opts.concurrency,
    keepAlive: false,
    requestTimeoutMs: 5000,
    maxDurationMs: 300_000,
  });
  const reloadMs: number[] = [];
  try {
    for (let i = 0; i < opts.reloads; i++) {
      await sleep(200);
      const t0 = Date.now();
      await cluster.reload();
      reloadMs.push(Date.now() - t0);
    }
    await sleep(opts.settleMs);
  } finally {
    await load.stop();
  }
  return { report: load.snapshot(), reloadMs };
}
