// Faults: zdd killed with SIGKILL at several moments, Ctrl-C before and after the switch, two deploys
// at once, a full disk, a corrupt history — each under load through the real Nginx, each followed by
// a deploy that works without manual help. Zero failed requests throughout.
import { execa, execaSync } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVersion } from '../helpers/example.js';
import type { SiteLoadHandle } from '../helpers/load.js';
import { pm2Bin } from '../helpers/pm2.js';
import { makeSite, zddBin, type Site } from '../helpers/site.js';

/** Start zdd in its own process group; resolve once `pattern` appears in its output. */
function startDeploy(site: Site, args: string[] = [], env: Record<string, string> = {}) {
  const child = execa(process.execPath, [zddBin, 'deploy', ...args, '--config', site.configPath], {
    env: { ...site.env, ...env },
    reject: false,
    all: true,
    cwd: site.app,
    detached: true,
  });
  let out = '';
  child.all!.on('data', (d: Buffer) => (out += d.toString()));
  const waitFor = async (pattern: RegExp, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(out)) {
      if (Date.now() > deadline) throw new Error(`never saw ${pattern} in:\n${out}`);
      if (child.exitCode !== null) throw new Error(`zdd exited (${child.exitCode}) before ${pattern}:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** SIGKILL zdd, then whatever it started in its group (a build, an install). */
  const kill = async () => {
    process.kill(child.pid!, 'SIGKILL');
    await child;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* group already empty */
    }
  };
  return { child, waitFor, kill, output: () => out };
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('faults (real PM2 + Nginx, under load)', () => {
  let site: Site;
  let load: SiteLoadHandle | undefined;
  let n = 1;
  const currentId = async () => (await readlink(join(site.deployTo, 'current'))).replace('releases/', '');
  const releaseJson = async (id: string) => JSON.parse(await readFile(join(site.deployTo, 'releases', id, 'release.json'), 'utf8'));
  const nextVersion = async () => {
    const v = `v${++n}`;
    await setVersion(site.app, v);
    return v;
  };
  const deployOk = async () => {
    const v = await nextVersion();
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(await site.served()).toMatchObject({ page: v, api: v });
    return r;
  };

  beforeAll(async () => {
    site = await makeSite({ version: 'v1', config: { backend: { readyTimeout: 5000, killTimeout: 6000 }, healthcheck: { timeout: 8000 } } });
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    await new Promise((res) => setTimeout(res, 1500)); // the first deploy reloaded Nginx
    load = site.load({ maxDurationMs: 600_000 });
  });

  afterAll(async () => {
    await load?.stop();
    await site?.stop();
  });

  for (const [moment, pattern] of [
    ['the frontend build', /start build-frontend/],
    ['the install', /start install/],
    ['the canary', /start canary/],
  ] as const) {
    it(`SIGKILL during ${moment}: the site keeps serving, the next deploy takes over the lock and cleans up`, async () => {
      const before = await currentId();
      const served = await site.served();
      await nextVersion();
      // The canary boots slowly here (the example app waits before it listens; the canary inherits
      // zdd's environment), so it is still running, not yet stopped by zdd, when zdd is killed.
      const d = startDeploy(site, [], moment === 'the canary' ? { ZDD_EXAMPLE_BOOT_DELAY_MS: '20000' } : {});
      await d.waitFor(pattern);
      const canaryFile = join(site.deployTo, '.zdd', 'canary.json');
      // During the canary: kill once the canary process runs (it records itself in canary.json).
      if (moment === 'the canary') await until(() => existsSync(canaryFile), 10_000, 'canary.json');
      // prepare printed the release folder before any of these moments.
      const killedId = /releases\/(\d{14}(?:-\d+)?)/.exec(d.output())?.[1];
      expect(killedId, d.output()).toBeDefined();
      const canary = moment === 'the canary' ? (JSON.parse(await readFile(canaryFile, 'utf8')) as { pid: number }) : undefined;
      if (canary) expect(alive(canary.pid)).toBe(true);
      await d.kill();
      expect(await currentId()).toBe(before);
      expect(await site.served()).toEqual(served);
      expect(existsSync(join(site.deployTo, '.zdd', 'lock'))).toBe(true); // left behind by the dead zdd

      const r = await deployOk();
      expect(r.all).toMatch(/taking over the lock of a deploy that is gone/);
      expect((await releaseJson(killedId!)).status).toBe('failed');
      // The canary the dead zdd left running was stopped by the next deploy: it says so (a canary
      // that ended by itself meanwhile would leave no such line), and the process is gone.
      if (canary) {
        expect(r.all).toContain(`stopping the canary of release ${killedId} (pid ${canary.pid}) left by a deploy that stopped`);
        expect(alive(canary.pid)).toBe(false);
      }
    });
  }

  it('SIGKILL just after the switch: current is complete and served, the next deploy works', async () => {
    await nextVersion();
    const d = startDeploy(site);
    await d.waitFor(/done {2}switch/);
    await d.kill();
    const id = await currentId();
    expect(existsSync(join(site.deployTo, 'releases', id, 'frontend', 'index.html'))).toBe(true);
    expect(existsSync(join(site.deployTo, 'releases', id, 'backend', 'server.js'))).toBe(true);
    expect((await site.served()).page).toBeDefined();
    await deployOk();
  });

  it('SIGKILL during the PM2 reload: every instance keeps serving, old or new release; the next deploy brings them all onto one', async () => {
    const before = await currentId();
    const prev = (await site.served()).api;
    const v = await nextVersion();
    const d = startDeploy(site);
    await d.waitFor(/start pm2 —/);
    await new Promise((r) => setTimeout(r, 300));
    await d.kill();
    // zdd drives PM2's reload one instance at a time (as PM2's CLI does): killed, it stops after the
    // instance in hand. Nothing is down: each instance is online on the new release or the one before.
    const id = await currentId();
    const pm2List = async () => {
      // pm2 may print a line of its own before the JSON.
      const out = (await execa(pm2Bin, ['jlist'], { env: site.env })).stdout.split('\n').find((l) => l.startsWith('[')) ?? '[]';
      return JSON.parse(out) as { pm2_env: { status: string; ZDD_RELEASE?: string } }[];
    };
    await until(async () => (await pm2List()).filter((p) => p.pm2_env.status === 'online').length === 2, 15_000, 'two instances online');
    for (const p of await pm2List()) expect([id, before]).toContain(p.pm2_env.ZDD_RELEASE);
    expect([v, prev]).toContain((await site.served()).api);
    const r = await deployOk();
    const now = await currentId();
    for (const p of await pm2List()) expect(p.pm2_env.ZDD_RELEASE, r.all).toBe(now);
  });

  it('Ctrl-C before the switch stops, cleans up, releases the lock and says what is served', async () => {
    const before = await currentId();
    await nextVersion();
    const d = startDeploy(site);
    await d.waitFor(/start build-frontend|start build-backend|start install/);
    process.kill(d.child.pid!, 'SIGINT');
    const r = await d.child;
    expect(r.exitCode, d.output()).toBe(1);
    expect(d.output()).toContain(`the site still serves ${before}`);
    expect(existsSync(join(site.deployTo, '.zdd', 'lock'))).toBe(false);
    expect(existsSync(join(site.deployTo, '.zdd', 'canary.json'))).toBe(false);
    expect(await currentId()).toBe(before);
  });

  it('Ctrl-C after the switch finishes the verify before exiting', async () => {
    const v = await nextVersion();
    const d = startDeploy(site);
    await d.waitFor(/start pm2 —/);
    process.kill(d.child.pid!, 'SIGINT');
    const r = await d.child;
    expect(r.exitCode, d.output()).toBe(0);
    expect(d.output()).toMatch(/finishing the verify/);
    expect(d.output()).toMatch(/done {2}verify/);
    expect(existsSync(join(site.deployTo, '.zdd', 'lock'))).toBe(false);
    expect(await site.served()).toMatchObject({ page: v, api: v });
  });

  it('two deploys at once: the second exits 3 naming the holder; with --lock-wait it waits and deploys', async () => {
    await nextVersion();
    const first = startDeploy(site);
    await first.waitFor(/done {2}lock/);
    const second = await site.zdd(['deploy']);
    expect(second.exitCode, second.all).toBe(3);
    expect(second.all).toContain(`pid ${first.child.pid}`);
    const waiting = startDeploy(site, ['--lock-wait', '120']);
    const r1 = await first.child;
    expect(r1.exitCode, first.output()).toBe(0);
    const r2 = await waiting.child;
    expect(r2.exitCode, waiting.output()).toBe(0);
    expect(waiting.output()).toMatch(/waiting up to 120 s/);
  });

  it('a corrupt history is reported and replaced, never a crash', async () => {
    await writeFile(join(site.deployTo, '.zdd', 'history.json'), '[{"at": "2026-11-27T');
    const r = await deployOk();
    expect(r.all).toMatch(/history.json is corrupt/);
    expect(JSON.parse(await readFile(join(site.deployTo, '.zdd', 'history.json'), 'utf8'))).toHaveLength(1);
  });

  it('zero failed requests through all of the above (and one more deploy, so this stands alone too)', async () => {
    await deployOk();
    const report = await load!.stop();
    load = undefined;
    expect(report.failed, await site.explain(report)).toBe(0);
    for (const [kind, r] of Object.entries(report.kinds)) expect(r.total, kind).toBeGreaterThan(50);
  });
});

describe('a full disk while preparing a release', () => {
  let site: Site;
  let mounted = false;

  beforeAll(async () => {
    site = await makeSite({ version: 'v1', config: { backend: { readyTimeout: 5000, killTimeout: 4000 } } });
    await mkdir(site.deployTo, { recursive: true });
    execaSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', site.deployTo]);
    mounted = true;
  });

  afterAll(async () => {
    await site?.pm2.kill().catch(() => {});
    if (mounted) execaSync('umount', ['-l', site.deployTo], { reject: false });
    await site?.stop();
  });

  it('exits 1 naming the path and the error; the site keeps serving the release before', async () => {
    const r1 = await site.zdd(['deploy']);
    expect(r1.exitCode, r1.all).toBe(0);
    const before = (await readlink(join(site.deployTo, 'current'))).replace('releases/', '');
    // Fill the disk, leaving a few KiB: enough for release.json, not for the build.
    await execa(
      'sh',
      [
        '-c',
        `dd if=/dev/zero of=${join(site.deployTo, 'filler')} bs=4k 2>/dev/null; rm -f ${join(site.deployTo, 'filler-small')}; truncate -s -16k ${join(site.deployTo, 'filler')}`,
      ],
      { reject: false },
    );
    await setVersion(site.app, 'v2');
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/ENOSPC/);
    expect(r.all).toMatch(/build-frontend failed|build-backend failed|prepare failed/);
    expect(r.all).toContain(site.deployTo);
    expect(r.all).toContain(`the site still serves ${before}`);
    expect((await readlink(join(site.deployTo, 'current'))).replace('releases/', '')).toBe(before);
    expect(await site.served()).toMatchObject({ page: 'v1', api: 'v1' });
    // Room again: the next deploy works, and the failed one is cleaned up by prune.
    await execa('rm', ['-f', join(site.deployTo, 'filler')]);
    const r3 = await site.zdd(['deploy']);
    expect(r3.exitCode, r3.all).toBe(0);
    expect(await site.served()).toMatchObject({ page: 'v2', api: 'v2' });
  });
});
