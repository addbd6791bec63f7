/**
 * The canary step on a RecordingHost (test/unit/canary.test.ts boots real apps on LocalHost): what it
 * asks the host to start (argv, cwd, IPC, environment with a free PORT), the canary.json it leaves
 * for a later deploy, the health check it asks for, and the cleanup. The recording host's spawned
 * process never exits, and sends 'ready' at once; its HTTP answers come from `host.http`.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StepFailed } from '../../../src/core/errors.js';
import { canary } from '../../../src/steps/canary.js';
import { BACKEND, callsTo, id, mutations, planAndRun, put, putDir, readJson, stepConfig, stepContext } from '../../helpers/steps.js';

function canaryContext(backend: Record<string, unknown> = {}, timeout = 2000) {
  const s = stepContext({
    config: stepConfig({ backend: { ...BACKEND, env: { API_KEY: 'k' }, readyTimeout: 1000, killTimeout: 2000, ...backend }, healthcheck: { timeout } }),
    releaseId: id(2),
  });
  putDir(s.host, s.ctx.release.dir); // built by the steps before
  return s;
}

describe('canary', () => {
  it('boots the release’s script on a free port with the app’s env, health-checks it, and records it for a later deploy', async () => {
    const { ctx, host, paths } = canaryContext();
    const { plan, note } = await planAndRun(canary, ctx);
    expect(plan.summary).toBe('boot server.js on a free port and GET /healthz');
    expect(note).toBe("/healthz answered 200 on port 45678, sent 'ready'; backend.reloadSafe is off");
    const cwd = path.join(paths.releases, id(2), 'backend');
    // Not this machine: the Node on the host's PATH.
    expect(callsTo(host, 'spawn')).toEqual([
      [
        ['node', path.join(cwd, 'server.js')],
        { cwd, ipc: true, env: { API_KEY: 'k', PORT: '45678', ZDD_RELEASE: id(2), ZDD_CANARY: '1', ZDD_KILL_TIMEOUT: '2000' } },
      ],
    ]);
    expect(readJson(host, path.join(paths.state, 'canary.json'))).toEqual({ pid: 4242, release: id(2), port: 45678 });
    expect(callsTo(host, 'httpGet')).toEqual([['http://127.0.0.1:45678/healthz']]);
    expect(ctx.state.canary?.pid).toBe(4242);

    await canary.cleanup!(ctx);
    expect(host.files.has(path.join(paths.state, 'canary.json'))).toBe(false);
    expect(mutations(host).at(-1)).toBe(`remove ${path.join(paths.state, 'canary.json')}`);
  });

  it('with backend.reloadSafe: puts the reload safety into the release and loads it with --require', async () => {
    const { ctx, host, paths } = canaryContext({ reloadSafe: true });
    const { note } = await planAndRun(canary, ctx);
    const safety = path.join(paths.releases, id(2), 'reload-safe.cjs');
    expect(host.files.get(safety)).toMatch(/reload-safety/);
    expect((callsTo(host, 'spawn')[0]![0] as string[]).slice(0, 3)).toEqual(['node', '--require', safety]);
    expect(note).toMatch(/reload-safe by nothing seen/);
  });

  it('a health check that never answers 2xx fails the step (the release is not switched)', async () => {
    const { ctx, host } = canaryContext({}, 300);
    host.http = () => ({ status: 503, body: 'warming up' });
    const err = await planAndRun(canary, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toBe('/healthz did not answer 2xx within 300 ms (last: answered 503: warming up)');
    expect((err as StepFailed).hint).toContain('the release was not switched');
    expect(callsTo(host, 'httpGet').length).toBeGreaterThan(1);
    await canary.cleanup!(ctx);
  });

  it('skips without a backend', async () => {
    const { ctx, host } = stepContext();
    expect((await planAndRun(canary, ctx)).plan.skip).toBe('no backend configured');
    expect(host.calls).toEqual([]);
  });

  it('a file the app writes in its release while booting: a warning naming the shared.dirs line (node_modules not looked at)', async () => {
    const { ctx, host, paths, log } = canaryContext();
    const backend = path.join(paths.releases, id(2), 'backend');
    put(host, path.join(backend, 'server.js'), 'app');
    put(host, path.join(backend, 'node_modules', 'x', 'index.js'), 'x');
    // The "app" creates its database when the health check reaches it, and a module cache in node_modules.
    host.http = () => {
      put(host, path.join(backend, 'data', 'app.db'), 'SQLite format 3');
      put(host, path.join(backend, 'node_modules', '.cache', 'c'), 'c');
      return { status: 200, body: 'ok' };
    };
    const { note } = await planAndRun(canary, ctx);
    expect(note).toMatch(/; the app wrote state inside the release \(1 warning\)$/);
    expect(log()).toContain(
      `the app wrote data/app.db inside the release while booting: it would start empty in every new release; keep it in ${paths.shared} with shared.dirs: ['data']`,
    );
    expect(log()).not.toContain('node_modules');
  });

  it('an app that exits on a native module that failed to load: the message names the package, the hint how to approve its install script', async () => {
    const { ctx, host } = canaryContext();
    const out = `Error: Could not locate the bindings file. Tried:
 → /srv/shop/releases/x/backend/node_modules/better-sqlite3/build/Release/better_sqlite3.node
    at bindings (/srv/shop/releases/x/backend/node_modules/bindings/bindings.js:126:9)\n`;
    host.spawn = () => ({
      pid: 4243,
      output: () => out,
      exited: Promise.resolve({ code: 1, signal: null }),
      waitForMessage: () => new Promise(() => {}),
      stop: async () => {},
    });
    host.http = () => {
      throw new Error('connect ECONNREFUSED');
    };
    const err = (await planAndRun(canary, ctx).catch((e: unknown) => e)) as StepFailed;
    expect(err).toBeInstanceOf(StepFailed);
    expect(err.message).toBe('the app exited at boot (code 1) before answering /healthz: the native module of better-sqlite3 failed to load');
    expect(err.hint).toContain('`npm install-scripts approve better-sqlite3` in the backend folder');
    expect(err.hint).toContain('`npm rebuild better-sqlite3`');
  });
});
