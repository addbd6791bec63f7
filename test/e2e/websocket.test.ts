// WebSockets across a deploy, end to end: the real CLI, real PM2 (temp PM2_HOME), real Nginx on
// loopback, and the backend of examples/ws-app (node:http + `ws` + the runtime helper as `zdd init`
// copies it). WebSocket clients connected through Nginx during a PM2 reload must be closed with 1001
// (never 1006) and reconnect to the new release; slow requests up to near killTimeout complete; plain
// HTTP load sees no failure; `zdd doctor` passes the deployed app.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setVersion } from '../helpers/example.js';
import { httpGet, type SiteLoadHandle } from '../helpers/load.js';
import { repoRoot } from '../helpers/pm2.js';
import { makeSite, type Site } from '../helpers/site.js';

const KILL_TIMEOUT = 8000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Client {
  /** Every hello the client got: one per connection. */
  hellos: { version: string; pid: number }[];
  /** Close codes of connections that had opened. */
  closes: number[];
  /** Connection attempts that never opened (Nginx had no worker to give, or it refused). */
  failedAttempts: string[];
  stop(): void;
}

/** A client that reconnects 100 ms after every close, as a browser app would. */
function reconnectingClient(url: string): Client {
  const c: Client = { hellos: [], closes: [], failedAttempts: [], stop: () => {} };
  let stopped = false;
  let ws: WebSocket | undefined;
  const connect = () => {
    if (stopped) return;
    let opened = false;
    ws = new WebSocket(url);
    ws.on('open', () => (opened = true));
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; version: string; pid: number };
      if (m.type === 'hello') c.hellos.push({ version: m.version, pid: m.pid });
    });
    ws.on('error', (err) => {
      if (!opened) c.failedAttempts.push(err.message);
    });
    ws.on('close', (code) => {
      if (opened) c.closes.push(code);
      if (!stopped) setTimeout(connect, 100);
    });
  };
  connect();
  c.stop = () => {
    stopped = true;
    ws?.close(1000);
  };
  return c;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('WebSockets during a deploy (real PM2 + Nginx)', () => {
  let site: Site;
  let load: SiteLoadHandle | undefined;
  const clients: Client[] = [];

  beforeAll(async () => {
    site = await makeSite({
      version: 'v1',
      config: {
        backend: {
          script: 'server.mjs',
          // Its own lockfile: the first release installs ws, the next ones hard-link it (same inputs),
          // and doctor's staged copy (outside this repository) installs it as a release would.
          install: 'npm ci --omit=dev --no-audit --no-fund',
          instances: 2,
          readyTimeout: 5000,
          killTimeout: KILL_TIMEOUT,
        },
        healthcheck: { timeout: 5000 },
      },
    });
    // The shop's frontend stays; its backend is replaced by the ws-app's.
    await cp(join(repoRoot, 'examples', 'ws-app', 'backend'), join(site.app, 'backend'), {
      recursive: true,
      filter: (src) => !src.includes('node_modules'),
    });
    await setVersion(site.app, 'v1');
  });

  afterAll(async () => {
    for (const c of clients) c.stop();
    await load?.stop();
    await site?.stop();
  });

  it('deploys v1: HTTP and WebSockets through Nginx', async () => {
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/canary .*sent 'ready'/);
    expect(await site.served()).toMatchObject({ page: 'v1', api: 'v1' });
    // The first deploy reloaded Nginx: let its old workers finish before measuring anything.
    await sleep(1500);
  }, 180_000);

  it('closes every WebSocket with 1001 during the reload (never 1006) and they reconnect to v2; slow requests complete', async () => {
    const url = `${site.nginx.url.replace('http:', 'ws:')}/ws`;
    for (let i = 0; i < 6; i++) clients.push(reconnectingClient(url));
    await until(() => clients.every((c) => c.hellos.length > 0), 10_000, 'every client to connect');
    expect(clients.every((c) => c.hellos[0]!.version === 'v1')).toBe(true);
    const pidsV1 = new Set(clients.map((c) => c.hellos[0]!.pid));

    load = site.load({ maxDurationMs: 300_000 });
    await setVersion(site.app, 'v2');
    const deploy = site.zdd(['deploy']);
    // A slow request every 400 ms while the deploy runs: some land on a worker just before its
    // SIGINT and must still be answered, up to killTimeout minus the helper's margin (500 ms).
    const slow: Promise<{ status: number; body: string }>[] = [];
    let deploying = true;
    void deploy.finally(() => (deploying = false));
    while (deploying) {
      slow.push(httpGet(`${site.nginx.url}/api/slow?ms=${KILL_TIMEOUT - 2500}`, 60_000).catch((e: Error) => ({ status: 0, body: e.message })));
      await sleep(400);
    }
    const r = await deploy;
    expect(r.exitCode, r.all).toBe(0);
    expect(await site.served()).toMatchObject({ page: 'v2', api: 'v2' });

    await until(() => clients.every((c) => c.hellos.at(-1)?.version === 'v2'), 20_000, 'every client to be on v2');
    const closes = clients.flatMap((c) => c.closes);
    const failed = clients.flatMap((c) => c.failedAttempts);
    // Both old workers were replaced: every client was closed at least once, always with 1001.
    expect(
      clients.every((c) => c.closes.length >= 1),
      JSON.stringify(clients.map((c) => c.closes)),
    ).toBe(true);
    expect(
      closes.filter((code) => code !== 1001),
      `close codes: ${closes.join(',')}`,
    ).toEqual([]);
    expect(failed, 'connection attempts that failed').toEqual([]);
    // ...and each is now served by a new worker.
    for (const c of clients) expect(pidsV1.has(c.hellos.at(-1)!.pid)).toBe(false);

    const answers = await Promise.all(slow);
    expect(slow.length).toBeGreaterThan(3);
    expect(
      answers.map((a) => a.status).filter((s) => s !== 200),
      JSON.stringify(answers.slice(0, 3)),
    ).toEqual([]);

    const report = await load.stop();
    load = undefined;
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.versions.v2).toBeGreaterThan(0);
  }, 180_000);

  it('zdd doctor boots a staged copy of the backend, installed as a release is, and passes it', async () => {
    const r = await site.zdd(['doctor', '--json']);
    const checks = (JSON.parse(r.stdout) as { checks: { name: string; level: string; detail: string }[] }).checks;
    const app = Object.fromEntries(checks.filter((c) => c.name.startsWith('app ')).map((c) => [c.name, c]));
    expect(app['app boot']?.detail, JSON.stringify(checks, null, 2)).toMatch(
      /^booted a staged copy .*`npm ci --omit=dev --no-audit --no-fund`.*: sent 'ready'/,
    );
    for (const name of ['app boot', 'app SIGINT', 'app keep-alive', 'app exit']) expect(app[name], name).toMatchObject({ level: 'ok' });
    expect(app['app SIGINT']!.detail).toMatch(/answered \(503\) with Connection: close/);
  }, 60_000);
});
