// The corpus (test/helpers/corpus.ts): projects shaped like the ones people have, two generated at
// test time from registry packages nobody here wrote, each deployed after `zdd init` with only the
// port edited (and this test's Nginx address), from a checkout with no node_modules anywhere:
// doctor finds nothing wrong, the deploy under POSTs through Nginx and keep-alive GETs at
// backend.port fails no request, the new version is served, and the rollback brings the first back.
import { describe, expect, it } from 'vitest';
import { corpus } from '../helpers/corpus.js';
import { runCorpusProject } from '../helpers/corpus-run.js';

const only = process.env.ZDD_CORPUS_ONLY;

describe.each(corpus.filter((p) => !only || p.name.includes(only)))('$name ($layout)', (project) => {
  it('init, port edited, doctor, deploy --ci from a fresh checkout, deploy and rollback under load: 0 failed', async () => {
    const run = await runCorpusProject(project);
    expect(run.edits.port, 'lines edited for the port').toBeLessThanOrEqual(2);
    expect(run.doctor.all, 'doctor: no ✗').not.toMatch(/✗/);
    expect(run.doctor.exitCode, run.doctor.all).toBe(0);
    expect(run.deploy.exitCode, run.deploy.all).toBe(0);
    expect(run.servedAfterDeploy).toBe('v2');
    expect(run.rollback.exitCode, run.rollback.all).toBe(0);
    expect(run.currentAfterRollback).toBe(run.firstRelease);
    expect(run.servedAfterRollback).toBe(project.firstVersion);
    expect(run.report.failed, run.explain).toBe(0);
    for (const [kind, r] of Object.entries(run.report.kinds)) expect(r.total, kind).toBeGreaterThan(100);
  }, 420_000);
});
