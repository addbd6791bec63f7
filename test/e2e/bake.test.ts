// The bake (rollout.bake, --bake) through the real CLI with real PM2 and Nginx, under the load that
// tells the truth (POSTs through Nginx, keep-alive GETs at backend.port, GETs through Nginx): a good
// release bakes and is recorded ok with 0 failed requests; a release whose real routes start
// answering 500 a few seconds after boot (its /healthz stays 200), and one that crashes a few seconds
// after boot, are each switched back within the bake window, exit 1, and are recorded failed with
// the reason. The bad releases are the example app with a planted failure (backend/version.json).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVersion } from '../helpers/example.js';
import { failureKinds, type SiteLoadReport } from '../helpers/load.js';
import { makeSite, type Site } from '../helpers/site.js';

const BAKE = 8;

describe('bake (real PM2 + Nginx, under load)', () => {
  let site: Site;
  let n = 0;

  const current = async () => (await readFile(join(site.deployTo, 'current', 'release.json'), 'utf8').then(JSON.parse)).id as string;
  const releaseJson = async (id: string) => JSON.parse(await readFile(join(site.deployTo, 'releases', id, 'release.json'), 'utf8'));
  const history = async () =>
    JSON.parse(await readFile(join(site.deployTo, '.zdd', 'history.json'), 'utf8')) as { release: string; result: string; error?: string }[];
  /** The next version, planted with a failure when asked (backend/version.json, read by the example app). */
  const nextVersion = async (plant: Record<string, number> = {}) => {
    const v = `v${++n}`;
    await setVersion(site.app, v);
    await writeFile(join(site.app, 'backend', 'version.json'), `${JSON.stringify({ version: v, ...plant }, null, 2)}\n`);
    return v;
  };
  /** Failures that are not the planted 500s: resets, refused connections, 502s, timeouts. */
  const otherThan500 = (r: SiteLoadReport) => Object.entries(failureKinds(r)).filter(([k]) => !k.endsWith(' 500'));

  beforeAll(async () => {
    site = await makeSite({
      version: 'v0',
      config: {
        backend: { instances: 2, readyTimeout: 5000, killTimeout: 4000 },
        healthcheck: { timeout: 5000 },
        hooks: { onFailure: ['echo "$ZDD_RELEASE" > "$ZDD_DEPLOY_TO/../on-failure.txt"'] },
      },
    });
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    // The first deploy with zdd reloads Nginx once; its old workers reset connections made while they
    // exit. Let them go before any load starts (each test's load begins right after).
    await new Promise((res) => setTimeout(res, 3000));
  });
  afterAll(async () => {
    await site?.stop();
  });

  it('a good release bakes for the whole window and is recorded ok, with its figures; status says it is baking meanwhile; 0 failed', async () => {
    const v = await nextVersion();
    const { value: r, report } = await site.underLoad(async () => {
      const child = site.spawnZdd(['deploy', '--bake', '4', '--json']);
      // While it bakes, `zdd status` says so: asked once the bake started (its first line is on stderr).
      let started!: () => void;
      const baking = new Promise<void>((res) => (started = res));
      child.stderr!.on('data', (d: Buffer) => /start bake/.test(d.toString()) && started());
      await baking;
      const status = await site.zdd(['status']);
      const done = await child;
      return { exitCode: done.exitCode ?? -1, stdout: String(done.stdout), all: String(done.all), sawBaking: /baking: \d+ s left/.test(status.all) };
    });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.sawBaking, 'zdd status during the bake').toBe(true);
    expect(report.failed, await site.explain(report)).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.release.bake).toMatchObject({ seconds: 4, result: 'ok', restarts: 0 });
    expect(doc.release.bake.answers).toBeGreaterThan(20);
    expect(doc.release.bake.watchedMs).toBeGreaterThanOrEqual(4000);
    const bakeStep = doc.steps.find((s: { id: string }) => s.id === 'bake');
    expect(bakeStep.note).toMatch(/^4 s: \d+ answers, 5xx 0% \(before 0%\), 0 restarts$/);
    const rel = await releaseJson(doc.release.id);
    expect(rel).toMatchObject({ status: 'ok', bake: { result: 'ok' } });
    expect(rel.bakingUntil).toBeUndefined();
    expect((await site.served()).api).toBe(v);
  });

  it('a release whose routes answer 500 a few seconds after boot (/healthz still 200) is switched back within the bake, exit 1, recorded failed with the reason', async () => {
    const before = await current();
    const prev = (await site.served()).api;
    await nextVersion({ failAfterMs: 2500 });
    const t0 = Date.now();
    const { value: r, report } = await site.underLoad(() => site.zdd(['deploy', '--bake', String(BAKE)]));
    const took = Date.now() - t0;
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/bake .*— 5xx \d+(\.\d)?% over \d+(\.\d)? s vs 0% before/);
    expect(r.all).toContain(`the site still serves ${before}`);
    // Switched back well within the window: the failure starts 2.5 s after boot.
    expect(took, r.all).toBeLessThan(BAKE * 1000 + 15_000);
    expect(await current()).toBe(before);
    expect((await site.served()).api).toBe(prev);
    const failed = (await history()).at(-1)!;
    expect(failed).toMatchObject({ result: 'failed' });
    expect(failed.error).toMatch(/5xx \d+(\.\d)?% over/);
    const rel = await releaseJson(failed.release);
    expect(rel.status).toBe('failed');
    expect(rel.error).toMatch(/^bake: 5xx|5xx \d/);
    expect(rel.bake).toMatchObject({ result: 'breach' });
    expect((await readFile(join(site.deployTo, '..', 'on-failure.txt'), 'utf8').catch(() => '')).trim()).toBe(failed.release);
    // The only failures are the planted 500s, and they stop once it switched back.
    expect(otherThan500(report), await site.explain(report)).toEqual([]);
    expect(report.failed).toBeGreaterThan(0);
    const lastBad = Math.max(...report.failures.map((f) => f.at));
    expect(lastBad - t0).toBeLessThan(took);
  });

  it('a release that crashes a few seconds after boot is switched back within the bake, exit 1, recorded failed: restarts', async () => {
    const before = await current();
    const prev = (await site.served()).api;
    // 4 s: after the reload and verify (about 2 s here), so it is the bake that sees it.
    await nextVersion({ crashAfterMs: 4000 });
    const t0 = Date.now();
    let took = 0;
    // A request a crashing worker had taken can hang: the load gives up on it after 5 s (a failure).
    const { value: r, report } = await site.underLoad(
      async () => {
        const run = await site.zdd(['deploy', '--bake', String(BAKE)]);
        took = Date.now() - t0;
        return run;
      },
      { requestTimeoutMs: 5000 },
    );
    expect(r.exitCode, r.all).toBe(1);
    expect(took, r.all).toBeLessThan(BAKE * 1000 + 15_000);
    expect(r.all).toMatch(/bake .*— \d+ restarts? in \d+(\.\d)? s/);
    expect(await current()).toBe(before);
    expect((await site.served()).api).toBe(prev);
    const failed = (await history()).at(-1)!;
    expect(failed.error).toMatch(/restarts? in/);
    expect((await releaseJson(failed.release)).status).toBe('failed');
    // Every instance is back on the release before (the switch-back is verified).
    expect(r.all).toMatch(/done {2}undo pm2/);
    expect(r.all).not.toMatch(/fail {2}undo pm2/);
    // A worker that crashes cuts what it was answering (a hung request shows 5 s later); nothing
    // fails that was sent after zdd switched back.
    expect(
      report.failures.every((f) => f.at - t0 < took + 5000),
      await site.explain(report),
    ).toBe(true);
  });

  it('a good release with the same bake passes with 0 failed requests', async () => {
    const v = await nextVersion();
    const { value: r, report } = await site.underLoad(() => site.zdd(['deploy', '--bake', String(BAKE)]));
    expect(r.exitCode, r.all).toBe(0);
    expect(report.failed, await site.explain(report)).toBe(0);
    expect((await site.served()).api, r.all).toBe(v);
  });

  it('Ctrl-C during the bake without a terminal (CI) switches back, as documented: exit 1, recorded failed, 0 failed requests', async () => {
    const before = await current();
    const prev = (await site.served()).api;
    await nextVersion();
    const { value: r, report } = await site.underLoad(async () => {
      const child = site.spawnZdd(['deploy', '--bake', '30']);
      let started!: () => void;
      const baking = new Promise<void>((res) => (started = res));
      child.all!.on('data', (d: Buffer) => /start bake/.test(d.toString()) && started());
      await baking;
      await new Promise((res) => setTimeout(res, 1000));
      child.kill('SIGINT');
      const done = await child;
      return { exitCode: done.exitCode ?? -1, all: String(done.all) };
    });
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/SIGINT during the bake: switching back to \d+ \(no terminal to ask\)/);
    expect(r.all).toMatch(/fail {2}bake \([^)]*\) — stopped by SIGINT during the bake/);
    expect(await current()).toBe(before);
    expect((await site.served()).api).toBe(prev);
    const failed = (await history()).at(-1)!;
    expect(failed).toMatchObject({ result: 'failed', error: expect.stringMatching(/stopped by SIGINT during the bake/) });
    expect((await releaseJson(failed.release)).bake).toMatchObject({ result: 'stopped' });
    expect(report.failed, await site.explain(report)).toBe(0);
  });

  it('bad input: a negative or non-numeric --bake is bad usage (exit 2, naming the flag); so is rollout.bake (naming the key); nothing created', async () => {
    const releases = async () =>
      existsSync(join(site.deployTo, 'releases')) ? (await import('node:fs/promises')).readdir(join(site.deployTo, 'releases')) : [];
    const had = await releases();
    for (const bad of ['-1', 'abc', '']) {
      const r = await site.zdd(['deploy', '--bake', bad]);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toMatch(/--bake: expected seconds ≥ 0/);
    }
    const cfg = JSON.parse(await readFile(site.configPath, 'utf8'));
    for (const bad of [-1, 'abc']) {
      await writeFile(site.configPath, JSON.stringify({ ...cfg, rollout: { bake: bad } }));
      const r = await site.zdd(['deploy']);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toMatch(/rollout\.bake/);
    }
    await writeFile(site.configPath, JSON.stringify(cfg, null, 2));
    expect(await releases()).toEqual(had);
  });
});
