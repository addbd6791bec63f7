// Rows 11 of `npm run bench`: every project of the corpus (test/helpers/corpus.ts) through
// test/helpers/corpus-run.ts — `zdd init --deploy-to`, the port edited, `zdd doctor`, `zdd deploy
// --ci` from a checkout with no node_modules, then a deploy and a rollback under the load of
// startSiteLoad (POSTs through Nginx, keep-alive GETs at backend.port, GETs through Nginx; no
// retries). Written to bench/results-corpus.md: project, layout, what init detected, lines
// edited, the times, failed requests. `--bake 0`: the bake is measured by rows 10.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpus } from '../test/helpers/corpus.js';
import { runCorpusProject, type CorpusRun } from '../test/helpers/corpus-run.js';
import { repoRoot } from '../test/helpers/pm2.js';

const resultsPath = join(repoRoot, 'bench', 'results-corpus.md');
const n = (x: number) => x.toLocaleString('en-US');
const s = (x: number) => `${x.toFixed(1)} s`;
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** What init printed it found: its app/frontend/backend/healthcheck/shared lines, without timestamps. */
function detected(run: CorpusRun): string {
  return plain(run.init.all)
    .split('\n')
    .map((l) => l.replace(/^\S+Z\s+\S+\s+/, '').trim())
    .filter((l) => /^(frontend|backend|healthcheck|nginx|shared|include|install)\b/.test(l))
    .join('<br>')
    .replace(/\|/g, '\\|');
}

const rows: { name: string; layout: string; run?: CorpusRun; error?: string }[] = [];

describe('rows 11: the corpus', () => {
  afterAll(async () => {
    const lines = [
      '# Rows 11: the corpus (`bench/corpus.test.ts`)',
      '',
      `Run ${new Date().toISOString()}, Node ${process.version}. Each project: \`zdd init --deploy-to\`, the port edited, \`zdd doctor\`, a first \`zdd deploy --ci\` (no node_modules anywhere), then under load a deploy of v2 and \`zdd rollback\` (both \`--bake 0\`).`,
      '"edited": lines changed for the port / for this bench\'s Nginx (listen address, nginx.test and nginx.reload commands).',
      '',
      '| project | layout | init detected | edited | doctor | first deploy | deploy | rollback | failed (POST nginx · GET direct · GET nginx) |',
      '|---|---|---|---|---|---|---|---|---|',
    ];
    for (const r of rows) {
      if (!r.run) {
        lines.push(`| ${r.name} | ${r.layout} | — | — | — | ${r.error?.split('\n')[0]?.slice(0, 200) ?? 'failed'} | — | — | — |`);
        continue;
      }
      const x = r.run;
      const k = x.report.kinds;
      const load = (['post-nginx', 'get-direct', 'get-nginx'] as const).map((kind) => `${n(k[kind].failed)}/${n(k[kind].total)}`).join(' · ');
      const doctor = `exit ${x.doctor.exitCode}, ${(plain(x.doctor.all).match(/✗/g) ?? []).length} ✗`;
      lines.push(
        `| ${r.name} | ${r.layout} | ${detected(x)} | ${x.edits.port} / ${x.edits.harness} | ${doctor} | exit ${x.first.exitCode}, ${s(x.first.seconds)} | exit ${x.deploy.exitCode}, ${s(x.deploy.seconds)} | exit ${x.rollback.exitCode}, ${s(x.rollback.seconds)} | ${load} |`,
      );
    }
    const text = `${lines.join('\n')}\n`;
    await writeFile(resultsPath, text);
    console.log(text);
  });

  for (const project of corpus) {
    it(`11 ${project.name}`, async () => {
      const row: (typeof rows)[number] = { name: project.name, layout: project.layout };
      rows.push(row);
      try {
        row.run = await runCorpusProject(project, { log: (l) => console.log(`  ${project.name}: ${l}`) });
      } catch (err) {
        row.error = String((err as Error).message ?? err);
        throw err;
      }
      expect(row.run.report.failed, row.run.explain).toBe(0);
    }, 600_000);
  }
});
