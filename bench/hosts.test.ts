// `npm run bench`, multi-host rows (issue 5): four "servers" on this machine (network namespaces, each
// with its own sshd, Nginx, PM2 home and deploy root; test/helpers/hosts.ts), reached over real SSH.
//  7a. bytes rsync sends on a one-file backend change, as a share of the release (target ≤ 5 %);
//  7b. the prepare phase (every host prepared, nothing switched) for 4 hosts vs 1 (target ≤ 1.5×),
//      deploys to 1 and to 4 hosts interleaved, under no-retry load through every host's Nginx.
// Writes bench/results-hosts.md. Every number in it is measured here.
import { lstat, readdir, writeFile } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVersion } from '../test/helpers/example.js';
import { fleetSupported, makeFleet, type TestFleet } from '../test/helpers/hosts.js';
import { startLoad, type LoadHandle, type LoadReport } from '../test/helpers/load.js';
import { repoRoot } from '../test/helpers/pm2.js';

const RUNS = 3;
const BYTES_PCT_TARGET = 5;
const PREPARE_RATIO_TARGET = 1.5;
const resultsPath = join(repoRoot, 'bench', 'results-hosts.md');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

/** Bytes of the regular files under `dir` (each inode once). */
async function du(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const n of await readdir(d).catch(() => [] as string[])) {
      const st = await lstat(join(d, n)).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(join(d, n));
      else if (st.isFile() && !seen.has(`${st.dev}:${st.ino}`)) {
        seen.add(`${st.dev}:${st.ino}`);
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}

const unsupported = fleetSupported();

describe.skipIf(unsupported)('zdd bench: several hosts over SSH', () => {
  let fleet: TestFleet;
  let allHosts: unknown[] = [];
  let version = 1;
  const bytes: Array<{ host: string; sent: number; release: number; frontendReused: boolean }> = [];
  const prepare = {
    one: [] as Array<{ prepare: number; connect: number; total: number }>,
    four: [] as Array<{ prepare: number; connect: number; total: number }>,
  };
  const loads: LoadReport[] = [];

  async function setHosts(n: number): Promise<void> {
    const c = JSON.parse(await readFile(fleet.configPath, 'utf8'));
    c.hosts = allHosts.slice(0, n);
    await writeFile(fleet.configPath, JSON.stringify(c, null, 2));
  }

  async function deploy(args: string[] = []): Promise<any> {
    const r = await fleet.zdd(['deploy', '--json', ...args]);
    if (r.exitCode !== 0) throw new Error(`zdd deploy exited ${r.exitCode}\n${r.stderr.slice(-3000)}`);
    return JSON.parse(r.stdout);
  }

  beforeAll(async () => {
    fleet = await makeFleet({ count: 4, version: 'v1' });
    allHosts = JSON.parse(await readFile(fleet.configPath, 'utf8')).hosts;
    await deploy();
  }, 300_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it('7a: bytes sent on a one-file backend change', async () => {
    await writeFile(join(fleet.app, 'backend', 'bench-change.js'), `module.exports = ${Date.now()};\n`);
    const doc = await deploy();
    for (const h of doc.hosts) {
      const t = fleet.hosts.find((x) => x.name === h.host)!;
      bytes.push({
        host: h.host,
        sent: h.transfer.sentBytes,
        release: await du(join(t.deployTo, 'releases', doc.release.id)),
        frontendReused: /skipped/.test(h.steps.find((s: any) => s.id === 'build-frontend')?.note ?? ''),
      });
    }
    expect(bytes).toHaveLength(4);
  }, 300_000);

  it('7b: prepare phase, 1 host vs 4 hosts, interleaved, under load', async () => {
    for (let i = 0; i < RUNS; i++) {
      for (const n of [1, 4]) {
        await setHosts(n);
        version++;
        await setVersion(fleet.app, `v${version}`);
        // GETs and POSTs (never retried by Nginx) through every host's Nginx; the app listens on each
        // host's own loopback, inside its network namespace, so there is no direct load from here.
        const handles: LoadHandle[] = fleet.hosts.flatMap((h) => [
          startLoad({ url: h.url, paths: ['/', '/api/version'], concurrency: 1, requestTimeoutMs: 15_000 }),
          startLoad({ url: h.url, paths: ['/api/echo'], method: 'POST', concurrency: 1, requestTimeoutMs: 15_000 }),
        ]);
        const t0 = Date.now();
        let doc: any;
        try {
          doc = await deploy();
        } finally {
          for (const l of handles) loads.push(await l.stop());
        }
        (n === 1 ? prepare.one : prepare.four).push({ prepare: doc.phases.prepare, connect: doc.phases.connect, total: Date.now() - t0 });
      }
    }
    await setHosts(4);
    expect(prepare.four).toHaveLength(RUNS);
  }, 1_200_000);

  it('writes bench/results-hosts.md', async () => {
    const share = bytes.map((b) => (100 * b.sent) / b.release);
    const medShare = median(share);
    const p1 = median(prepare.one.map((p) => p.prepare));
    const p4 = median(prepare.four.map((p) => p.prepare));
    const c1 = median(prepare.one.map((p) => p.connect + p.prepare));
    const c4 = median(prepare.four.map((p) => p.connect + p.prepare));
    const failed = loads.reduce((a, r) => a + r.failed, 0);
    const requests = loads.reduce((a, r) => a + r.total, 0);
    const lines = [
      '# zdd bench: several hosts over SSH',
      '',
      `${new Date().toISOString()} · 4 hosts = network namespaces on this machine (${fleet.hosts.length} sshd, Nginx, PM2), reached over real OpenSSH; medians of ${RUNS}.`,
      '',
      '| row | measure | result | target |',
      '|---|---|---|---|',
      `| 7a | bytes sent on a one-file backend change / release size | ${medShare.toFixed(2)} % (${bytes.map((b) => `${kb(b.sent)} of ${kb(b.release)}`).join('; ')}) | ≤ ${BYTES_PCT_TARGET} % |`,
      `| 7b | prepare phase, 4 hosts vs 1 | ${sec(p4)} vs ${sec(p1)} = **${(p4 / p1).toFixed(2)}×** | ≤ ${PREPARE_RATIO_TARGET}× |`,
      `| 7b | connect + prepare, 4 hosts vs 1 | ${sec(c4)} vs ${sec(c1)} = ${(c4 / c1).toFixed(2)}× | — |`,
      `| 7b | whole deploy, 4 hosts vs 1 | ${sec(median(prepare.four.map((p) => p.total)))} vs ${sec(median(prepare.one.map((p) => p.total)))} | — |`,
      `| 7b | requests through every host's Nginx during those deploys | ${requests} requests, **${failed} failed** | 0 |`,
      '',
      `Frontend reused (not sent) on the one-file change: ${bytes.every((b) => b.frontendReused) ? 'yes, on every host' : 'no'}.`,
      '',
    ];
    console.log(lines.join('\n'));
    await writeFile(resultsPath, lines.join('\n'));
    expect(failed).toBe(0);
  });
});
