// Rows 8 of `npm run bench`: the PM2 cluster handoff. For a moment after server.close() the PM2
// primary may still hand a draining worker a connection; Node passes it back only while the worker
// lives, so a worker that exits then strands the connection (the client hangs). Three ways to end a
// worker, each through the same reloads of a 2-worker cluster under a load that opens a new
// connection per request (32 loops, no retries, 5 s timeout, straight at PM2's port):
//   8a exit as soon as drained; 8b wait a fixed second after close(); 8c zdd/runtime (leave the
//   cluster: a round trip to the primary, then exit). Written to bench/results-handoff.md.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reloadsUnderLoad, startHandoffCluster } from '../test/helpers/handoff.js';
import type { LoadReport } from '../test/helpers/load.js';
import { repoRoot, type TempPm2Home } from '../test/helpers/pm2.js';

const RELOADS = 20;
const CONCURRENCY = 32;
const resultsPath = join(repoRoot, 'bench', 'results-handoff.md');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Row {
  id: string;
  what: string;
  report: LoadReport;
  reloadMs: number[];
}
const rows: Row[] = [];
let home: TempPm2Home | undefined;
afterEach(async () => {
  await home?.kill();
  home = undefined;
});

async function measure(id: string, what: string, script: string, env: Record<string, string>): Promise<Row> {
  const cluster = await startHandoffCluster(script, env);
  home = cluster.pm2;
  // settleMs longer than the request timeout: a stranded connection is counted.
  const { report, reloadMs } = await reloadsUnderLoad(cluster, { reloads: RELOADS, concurrency: CONCURRENCY, settleMs: 6000 });
  const row = { id, what, report, reloadMs };
  rows.push(row);
  return row;
}

const kinds = (r: LoadReport) => {
  const c: Record<string, number> = {};
  for (const f of r.failures) {
    const k = f.error ?? String(f.status);
    c[k] = (c[k] ?? 0) + 1;
  }
  return (
    Object.entries(c)
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ') || '—'
  );
};

describe('rows 8: the PM2 cluster handoff', () => {
  const fixture = join(repoRoot, 'bench', 'fixtures', 'handoff-app.cjs');

  it('8a: exit as soon as drained', async () => {
    const r = await measure('8a', 'exit as soon as drained (`server.close(() => process.exit())`)', fixture, { HANDOFF_MODE: 'exit' });
    expect(r.report.ok).toBeGreaterThan(0);
  }, 600_000);

  it('8b: a fixed 1 s after close()', async () => {
    const r = await measure('8b', 'stay alive a fixed 1 s after `server.close()` (zdd/runtime before)', fixture, { HANDOFF_MODE: 'window' });
    expect(r.report.ok).toBeGreaterThan(0);
  }, 600_000);

  it('8c: zdd/runtime leaves the cluster, then exits', async () => {
    const r = await measure(
      '8c',
      'zdd/runtime: leave the cluster (`cluster.worker.disconnect()`), then exit',
      join(repoRoot, 'test', 'fixtures', 'reload-safe', 'app.mjs'),
      {},
    );
    expect(r.report.ok).toBeGreaterThan(0);
    expect(r.report.failed, kinds(r.report)).toBe(0);
  }, 600_000);

  it('writes bench/results-handoff.md', async () => {
    const header = ['#', 'how a worker ends', 'requests', 'failed', 'failures seen', 'pm2 reload (median)', 'target', 'met?'];
    const lines = [header, header.map(() => '---')];
    for (const r of rows) {
      const target = r.id === '8c' ? '0 failed' : '—';
      const met = r.id === '8c' ? (r.report.failed === 0 ? 'yes' : '**no**') : '—';
      lines.push([r.id, r.what, String(r.report.total), String(r.report.failed), kinds(r.report), `${(median(r.reloadMs) / 1000).toFixed(2)} s`, target, met]);
    }
    const table = lines.map((l) => `| ${l.join(' | ')} |`).join('\n');
    const text =
      `${table}\n\n` +
      `- Each row: PM2 cluster, 2 instances, \`wait_ready\`, kill_timeout 8 s; ${RELOADS} \`pm2 reload\` (CLI) 200 ms apart; ` +
      `${CONCURRENCY} loops each opening a new connection per GET, straight at PM2's port, no retries, 5 s timeout, counted until 6 s after the last reload. ` +
      `A "timeout" is a connection the primary handed to a worker that exited: it is never answered. ` +
      `Node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString()}.\n`;
    console.log(`\n${text}`);
    await writeFile(resultsPath, text);
    expect(rows.map((r) => r.id)).toEqual(['8a', '8b', '8c']);
  });
});
