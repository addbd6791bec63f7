// zdd's reload safety (src/runtime/preload.ts, built as dist/runtime/reload-safe.cjs) in real
// processes started the way zdd starts the canary and PM2 workers: `node --require` on it, with an
// IPC channel and PORT. Each app in test/fixtures/reload-safety/ is one that real projects look like
// (plain http, CommonJS and ESM, Express, Koa, Fastify with its own close(), shutdown code that cuts
// everything, a `ws` server). For each: `ready` is sent, and on SIGINT a request in flight completes,
// a request sent afterwards on an idle keep-alive connection is answered (not reset), new connections
// are refused, WebSockets get 1001, and the process exits 0.
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { repoRoot } from '../helpers/pm2.js';
import { freePort } from '../helpers/ports.js';

const preload = join(repoRoot, 'dist', 'runtime', 'reload-safe.cjs');
const fixtures = join(repoRoot, 'test', 'fixtures', 'reload-safety');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface App {
  child: ChildProcess;
  port: number;
  output: () => string;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}
const apps: ChildProcess[] = [];
afterEach(() => {
  for (const c of apps.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function start(file: string, env: Record<string, string> = {}): Promise<App> {
  const port = await freePort();
  const child = fork(join(fixtures, file), [], {
    execArgv: ['--require', preload],
    env: { ...process.env, PORT: String(port), ZDD_KILL_TIMEOUT: '6000', ...env },
    silent: true,
  });
  apps.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const ready = new Promise<void>((resolve) => child.on('message', (m) => m === 'ready' && resolve()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, port, output: () => out, ready, exited };
}

/** A raw keep-alive connection that records what the server does with it. */
function connection(port: number) {
  const s = net.connect(port, '127.0.0.1');
  const st = { data: '', ended: false, error: '' };
  s.setEncoding('utf8');
  s.on('data', (d: string) => (st.data += d));
  s.on('end', () => (st.ended = true));
  s.on('error', (e: NodeJS.ErrnoException) => (st.error = e.code ?? e.message));
  return { s, st, connected: new Promise<void>((r) => s.once('connect', () => r())) };
}
const responses = (data: string) => data.split('HTTP/1.1 ').length - 1;
async function until(cond: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The drain, as a reload sees it. `late` answers: a 2xx from most apps; Fastify's own close answers 503. */
async function drainsCleanly(app: App) {
  await app.ready;
  const idle = connection(app.port);
  await idle.connected;
  idle.s.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => responses(idle.st.data) === 1 && idle.st.data.includes('ok /first'), 3000, 'the first answer');
  const busy = connection(app.port);
  await busy.connected;
  busy.s.write('GET /slow?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n');
  await sleep(50);
  app.child.kill('SIGINT');
  // The client's next request on the idle connection, sent just after the signal: answered, not reset.
  await sleep(30);
  idle.s.write('GET /late HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => idle.st.ended || idle.st.error !== '', 3000, 'the idle connection to close');
  expect(idle.st.error, idle.st.data).toBe('');
  expect(responses(idle.st.data), app.output()).toBe(2);
  expect(idle.st.data.split('HTTP/1.1 ')[2]).toMatch(/^200[\s\S]*connection: close[\s\S]*ok \/late/i);
  await until(() => busy.st.ended || busy.st.error !== '', 3000, 'the slow request');
  expect(busy.st.error).toBe('');
  expect(busy.st.data).toMatch(/^HTTP\/1\.1 200[\s\S]*ok \/slow/);
  const refused = connection(app.port);
  await until(() => refused.st.error !== '' || refused.st.ended, 2000, 'a new connection to fail');
  expect(['ECONNREFUSED', 'ECONNRESET']).toContain(refused.st.error);
  expect(await app.exited).toEqual({ code: 0, signal: null });
}

describe('zdd reload safety (node --require dist/runtime/reload-safe.cjs)', () => {
  for (const file of ['plain.cjs', 'plain.mjs', 'express.cjs', 'koa.cjs']) {
    it(`${file}: no ready, no SIGINT handler: zdd sends ready and drains without cutting a request`, async () => {
      const app = await start(file);
      await drainsCleanly(app);
      expect(app.output()).toMatch(/zdd reload-safety pid=\d+: listening on port \d+ \(PORT\); ready: zdd; shutdown: zdd/);
      expect(app.output()).toMatch(/SIGINT: draining \(1 request in flight\)/);
    });
  }

  it('own shutdown code that closes every connection and exits at once: it still runs, after the drain, and cuts nothing', async () => {
    const app = await start('own-exit.cjs');
    await drainsCleanly(app);
    expect(app.output()).toMatch(/ready: the app; shutdown: the app's own handler, after zdd's drain/);
    // The app's cleanup ran, once the drain was over.
    expect(app.output().indexOf('own cleanup ran')).toBeGreaterThan(app.output().indexOf('drained after'));
  });

  it('Fastify with its own fastify.close() on SIGINT: its onClose hook runs, after the drain, and no request is cut', async () => {
    const app = await start('fastify.mjs');
    await drainsCleanly(app);
    expect(app.output()).toMatch(/ready: zdd; shutdown: the app's own handler, after zdd's drain/);
    expect(app.output()).toContain('own cleanup ran');
  });

  it('closes a ws WebSocket with 1001, then exits 0', async () => {
    const app = await start('ws.mjs');
    await app.ready;
    const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    app.child.kill('SIGINT');
    expect(await closed).toBe(1001);
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });

  it('under PM2 (pm_id set) reports the answers and the 5xx among them as PM2 custom metrics; outside PM2 it sends none', async () => {
    const metrics: { answers: number; errors: number }[] = [];
    const app = await start('plain.cjs', { pm_id: '0' });
    app.child.on('message', (m: { type?: string; data?: Record<string, { value: number }> }) => {
      if (m?.type === 'axm:monitor') metrics.push({ answers: m.data!['zdd answers']!.value, errors: m.data!['zdd 5xx']!.value });
    });
    await app.ready;
    for (const status of [200, 200, 500, 503, 404]) await fetch(`http://127.0.0.1:${app.port}/?status=${status}`);
    await until(() => metrics.at(-1)?.answers === 5, 3000, 'the counts');
    expect(metrics.at(-1)).toEqual({ answers: 5, errors: 2 });

    const outside = await start('plain.cjs');
    const sent: unknown[] = [];
    outside.child.on('message', (m) => sent.push(m));
    await outside.ready;
    await fetch(`http://127.0.0.1:${outside.port}/?status=500`);
    await sleep(600);
    expect(sent).toEqual(['ready']);
    for (const a of [app, outside]) a.child.kill('SIGINT');
    await Promise.all([app.exited, outside.exited]);
  });

  it('under PM2, a worker whose channel closed (it left the cluster) keeps running: the counts are not sent into a closed channel', async () => {
    const app = await start('plain.cjs', { pm_id: '0' });
    await app.ready;
    await fetch(`http://127.0.0.1:${app.port}/?status=200`);
    app.child.disconnect();
    await sleep(300);
    // New counts, with the channel closed: sending them would raise an 'error' the app does not handle.
    await fetch(`http://127.0.0.1:${app.port}/?status=500`);
    await sleep(700);
    expect(app.child.exitCode, app.output()).toBeNull();
    app.child.kill('SIGINT');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });

  it('leaves a server on another port than PORT alone and says so', async () => {
    const app = await start('plain.cjs', { PORT: '0' });
    await until(() => /listening on port \d+, not PORT \(0\): left alone/.test(app.output()), 3000, 'the line');
    app.child.kill('SIGINT');
    await app.exited;
  });
});
