// Rows 10 of `npm run bench`: the bake (rollout.bake) under the three loads of test/helpers/load.ts
// startSiteLoad at once (POST /api/echo through Nginx, keep-alive GET /api/version at backend.port,
// GET / and /api/version through Nginx; no retries). Written to bench/results-bake.md.
//   10a  a release whose routes answer 500 from 2.5 s after boot (/healthz stays 200), --bake 10;
//   10b  a release that crashes 4 s after boot, --bake 10;
//   10c  a good release, --bake 10.
// For each bad release: the requests that failed between its first bad answer and the switch-back
// (zdd's `done  undo pm2` line), and the time to detect (its first bad answer to zdd's `fail  bake`).
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setVersion } from '../test/helpers/example.js';
import { failureKinds, type SiteLoadOptions, type SiteLoadReport } from '../test/helpers/load.js';
import { repoRoot } from '../test/helpers/pm2.js';
import { makeSite, type Site } from '../test/helpers/site.js';

const BAKE = 10;
/** The target set for detection: the first bad answer to the breach, within 2 s (see the README). */
const DETECT_TARGET_MS = 2000;
const LOAD: Partial<SiteLoadOptions> = {
  concurrency: { 'post-nginx': 3, 'get-direct': 3, 'get-nginx': 2 },
  maxDurationMs: 120_000,
  requestTimeoutMs: 15_000,
  maxFailuresKept: 1_000_000,
};
const resultsPath = join(repoRoot, 'bench', 'results-bake.md');
const n = (x: number) => x.toLocaleString('en-US');
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Row {
  id: string;
  what: string;
  exitCode: number;
  report: SiteLoadReport;
  /** ms from the first bad answer to zdd's breach, and to the switch-back verified. */
  detectMs?: number;
  backMs?: number;
  failedBetween: number;
  reason: string;
  wallMs: number;
  met: boolean;
}
const rows: Row[] = [];
let site: Site | undefined;

/** The timestamp of zdd's first CI line matching `re` (`2026-… fail  bake …`). */
function lineAt(output: string, re: RegExp): number | undefined {
  const line = output.split('\n').find((l) => re.test(l));
  return line ? Date.parse(line.split(' ')[0]!) : undefined;
}

function render(): string {
  const out = [
    '| # | release | exit | requests | failed | failed between first bad answer and switch-back | time to detect | first bad answer → switch-back verified | reason | deploy wall time | target | met? |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const kinds = Object.entries(failureKinds(r.report))
      .map(([k, c]) => `${k} ×${c}`)
      .join(', ');
    const target = r.id === '10c' ? 'exit 0, 0 failed' : `exit 1, detected ≤ ${sec(DETECT_TARGET_MS)}`;
    out.push(
      `| ${r.id} | ${r.what} | ${r.exitCode} | ${n(r.report.total)} | ${n(r.report.failed)}${kinds ? ` (${kinds})` : ''} | ${r.id === '10c' ? '—' : n(r.failedBetween)} | ${r.detectMs === undefined ? '—' : sec(r.detectMs)} | ${r.backMs === undefined ? '—' : sec(r.backMs)} | ${r.reason || '—'} | ${sec(r.wallMs)} | ${target} | ${r.met ? 'yes' : '**no**'} |`,
    );
  }
  out.push(
    '',
    `- Load: three kinds at once, keep-alive, no retries (${Object.entries(LOAD.concurrency!)
      .map(([k, c]) => `${c} loops of ${k}`)
      .join(
        ', ',
      )}), from before the deploy starts until it returned. \`--bake ${BAKE}\`; the example app with 2 instances, the bad releases planted through backend/version.json (\`failAfterMs\`, \`crashAfterMs\`). Node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString()}.`,
    '- A 500 the app answers is a failed request (the load counts anything but 200); a crashing worker also cuts what it was answering (502 through Nginx, a reset at the port). "First bad answer" is the first failed request of the load.',
  );
  return `${out.join('\n')}\n`;
}

afterAll(async () => {
  await site?.stop().catch(() => {});
  await writeFile(resultsPath, render());
  console.log(render());
});

describe('rows 10: the bake', () => {
  let v = 0;
  const deploy = async (id: string, what: string, plant: Record<string, number>) => {
    site ??= await makeSite({ version: 'r0', config: { backend: { instances: 2, readyTimeout: 5000, killTimeout: 4000 }, healthcheck: { timeout: 5000 } } });
    if (v === 0) {
      expect((await site.zdd(['deploy'])).exitCode).toBe(0);
      // The first deploy with zdd reloads Nginx once; let its old workers exit before any load.
      await new Promise((res) => setTimeout(res, 3000));
    }
    const version = `r${++v}`;
    await setVersion(site.app, version);
    await writeFile(join(site.app, 'backend', 'version.json'), `${JSON.stringify({ version, ...plant })}\n`);
    const t0 = Date.now();
    const { value: r, report } = await site.underLoad(() => site!.zdd(['deploy', '--bake', String(BAKE)]), LOAD);
    const wallMs = Date.now() - t0;
    // The first bad answer: the first planted 500 (10a), or the first request the crash cut (10b).
    const bad = report.failures.filter((f) => (plant.failAfterMs !== undefined ? f.status === 500 : true));
    const first = bad.length ? Math.min(...bad.map((f) => f.at)) : undefined;
    const breach = lineAt(r.all, /^\S+ fail {2}bake /);
    const back = lineAt(r.all, /^\S+ done {2}undo pm2/);
    const failedBetween = first === undefined ? 0 : report.failures.filter((f) => f.at >= first && f.at <= (back ?? Number.POSITIVE_INFINITY)).length;
    const reason = /fail {2}bake \([^)]*\) — (.*)$/m.exec(r.all)?.[1] ?? '';
    const detectMs = first !== undefined && breach !== undefined ? breach - first : undefined;
    const backMs = first !== undefined && back !== undefined ? back - first : undefined;
    const good = id === '10c';
    const met = good ? r.exitCode === 0 && report.failed === 0 : r.exitCode === 1 && detectMs !== undefined && detectMs <= DETECT_TARGET_MS;
    rows.push({ id, what, exitCode: r.exitCode, report, detectMs, backMs, failedBetween, reason, wallMs, met });
    const rel = JSON.parse(await readFile(join(site.deployTo, 'current', 'release.json'), 'utf8'));
    return { r, rel };
  };

  it('10a: routes answer 500 from 2.5 s after boot, /healthz stays 200', async () => {
    const { r } = await deploy('10a', 'routes answer 500 from 2.5 s after boot (/healthz 200)', { failAfterMs: 2500 });
    expect(r.exitCode, r.all).toBe(1);
  });

  it('10b: a crash 4 s after boot', async () => {
    const { r } = await deploy('10b', 'crashes 4 s after boot', { crashAfterMs: 4000 });
    expect(r.exitCode, r.all).toBe(1);
  });

  it('10c: a good release with the same bake', async () => {
    const { r } = await deploy('10c', 'a good release', {});
    expect(r.exitCode, r.all).toBe(0);
  });
});
