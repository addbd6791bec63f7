// The runtime helper (src/runtime/index.ts, copied as templates/reload-safe.mjs) with real sockets
// and real signals: each test forks a small app (test/fixtures/reload-safe/app.mjs) with an IPC
// channel, as PM2 and zdd's canary do, and watches what clients see while it drains.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isDraining, reloadSafe } from '../../src/runtime/index.js';
import { renderRuntimeTemplate } from '../../scripts/runtime-template.mjs';
import { repoRoot } from '../helpers/pm2.js';

const templatePath = join(repoRoot, 'templates', 'reload-safe.mjs');
const exampleCopyPath = join(repoRoot, 'examples', 'ws-app', 'backend', 'reload-safe.mjs');
const fixture = join(repoRoot, 'test', 'fixtures', 'reload-safe', 'app.mjs');

interface App {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: string | null; at: number }>;
}

const apps: App[] = [];
afterEach(() => {
  for (const a of apps.splice(0)) if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
});

/** Fork the fixture with an IPC channel; resolves once it listens and sent `ready`. */
async function startApp(env: Record<string, string> = {}): Promise<App> {
  const child = fork(fixture, [], { env: { ...process.env, ZDD_KILL_TIMEOUT: '8000', ...env }, silent: true });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const ready = new Promise<void>((resolve) => child.on('message', (m) => m === 'ready' && resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listen line: ${out}`)), 10_000);
    child.stdout!.on('data', () => {
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  await ready;
  const app: App = { child, port, output: () => out, exited };
  apps.push(app);
  return app;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP client that records what the server does with the connection. */
function rawClient(port: number) {
  const s = net.connect(port, '127.0.0.1');
  const state = { data: '', endedAt: 0, closedAt: 0, error: '' };
  s.setEncoding('utf8');
  s.on('data', (d: string) => (state.data += d));
  s.on('end', () => (state.endedAt = Date.now())); // FIN from the server
  s.on('error', (e: NodeJS.ErrnoException) => (state.error = e.code ?? e.message)); // RST: ECONNRESET
  s.on('close', () => (state.closedAt = Date.now()));
  const connected = new Promise<void>((r) => s.once('connect', () => r()));
  return { s, state, connected };
}

/** Wait until `cond` holds (polling), or fail after `ms`. */
async function until(cond: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function responseComplete(data: string): boolean {
  const i = data.indexOf('\r\n\r\n');
  if (i < 0) return false;
  const head = data.slice(0, i).toLowerCase();
  const body = data.slice(i + 4);
  const len = /content-length:\s*(\d+)/.exec(head);
  if (len) return Buffer.byteLength(body) >= Number(len[1]);
  return /transfer-encoding:\s*chunked/.test(head) ? body.endsWith('0\r\n\r\n') : false;
}

function get(port: number, path: string, agent?: http.Agent) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('reloadSafe (runtime helper)', () => {
  it('templates/reload-safe.mjs and the ws-app example copy are the compiled src/runtime/index.ts', () => {
    const want = renderRuntimeTemplate();
    const hint = 'out of date: run node scripts/runtime-template.mjs --write';
    expect(readFileSync(templatePath, 'utf8'), `templates/reload-safe.mjs ${hint}`).toBe(want);
    expect(readFileSync(exampleCopyPath, 'utf8'), `examples/ws-app/backend/reload-safe.mjs ${hint}`).toBe(want);
    expect(want).not.toMatch(/^\s*import\s(?!type)/m); // zero dependencies, not even node: modules
  });

  it("sends 'ready' once listening; a request in flight completes with Connection: close; cleanups run; exit 0 once drained", async () => {
    const app = await startApp();
    expect((await get(app.port, '/healthz')).status).toBe(200);
    const agent = new http.Agent({ keepAlive: true });
    const slow = get(app.port, '/slow?ms=700', agent);
    await sleep(150);
    const t0 = Date.now();
    app.child.kill('SIGINT');
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.body).toBe('slept 700');
    expect(r.headers.connection).toBe('close');
    const e = await app.exited;
    expect(e).toMatchObject({ code: 0, signal: null });
    // After the request in flight (~550 ms left), with no fixed wait: not a cluster worker.
    expect(e.at - t0).toBeGreaterThanOrEqual(450);
    expect(e.at - t0).toBeLessThan(990);
    const out = app.output();
    expect(out).toMatch(/SIGINT: draining \(1 request in flight, 0 WebSockets\)/);
    expect(out.indexOf('cleanup 1 (SIGINT)')).toBeGreaterThan(-1);
    expect(out.indexOf('cleanup 2')).toBeGreaterThan(out.indexOf('cleanup 1'));
    expect(out).toMatch(/drained after \d+ ms; exiting/);
    agent.destroy();
  });

  it('as a cluster worker (PM2 cluster mode): exits only after the primary confirmed it left, with no fixed wait', async () => {
    const primary = fork(join(dirname(fixture), 'primary.mjs'), [], { env: { ...process.env, ZDD_KILL_TIMEOUT: '8000' }, silent: true });
    let out = '';
    primary.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    primary.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => primary.on('exit', (c) => resolve(c)));
    expect(code, out).toBe(0);
    const result = JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? '{}') as { events: string[]; code: number; ms: number };
    // Node's worker.disconnect(): the primary answers, then the IPC channel closes, then the exit.
    expect(result.events).toEqual(['ready', 'disconnect (asked by the worker)', 'exit']);
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(900);
    expect(out).toMatch(/drained after \d+ ms; exiting/);
  });

  it('falls back to a fixed 1000 ms handoff window where process.getBuiltinModule is missing (Node < 20.16)', async () => {
    const app = await startApp({ NODE_OPTIONS: '--import=data:text/javascript,delete%20process.getBuiltinModule' });
    const t0 = Date.now();
    app.child.kill('SIGINT');
    const e = await app.exited;
    expect(e).toMatchObject({ code: 0, signal: null });
    expect(e.at - t0).toBeGreaterThanOrEqual(990);
    expect(e.at - t0).toBeLessThan(3000);
  });

  it('answers a request sent on an idle keep-alive connection just after SIGINT (Connection: close), never resetting it', async () => {
    const app = await startApp();
    const idle = rawClient(app.port);
    await idle.connected;
    idle.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => responseComplete(idle.state.data), 2000, 'the first response');
    app.child.kill('SIGINT');
    // What a keep-alive client (or Nginx) does all the time: the next request on a connection that
    // looked idle. Closing idle connections at once (server.close() since Node 19) resets it.
    await sleep(30);
    const first = idle.state.data.length;
    idle.s.write('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => idle.state.endedAt > 0 || idle.state.error !== '', 2000, 'the connection to close');
    expect(idle.state.error).toBe('');
    const late = idle.state.data.slice(first);
    expect(late).toMatch(/^HTTP\/1\.1 200/);
    expect(late.toLowerCase()).toContain('connection: close');
    expect(late).toContain('hello');
    expect(await app.exited).toMatchObject({ code: 0 });
  });

  it('closes an idle keep-alive connection with FIN once it has been quiet; a request that arrives while draining gets 503 and Connection: close', async () => {
    const app = await startApp();
    const idle = rawClient(app.port);
    await idle.connected;
    idle.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => responseComplete(idle.state.data), 2000, 'the first response');
    expect(idle.state.data).toMatch(/^HTTP\/1\.1 200/);
    expect(idle.state.data.toLowerCase()).toContain('connection: keep-alive');
    // A request whose headers are not complete yet: the connection is busy, not idle.
    const late = rawClient(app.port);
    await late.connected;
    late.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await sleep(100);
    const t0 = Date.now();
    app.child.kill('SIGINT');
    await until(() => idle.state.endedAt > 0, 1000, 'the idle connection to be closed');
    // After the quiet period (250 ms since its last answer), not at once.
    expect(idle.state.endedAt - t0).toBeLessThan(500);
    expect(idle.state.error).toBe(''); // FIN, not RST
    // New connections are refused: the listening socket is closed.
    const refused = rawClient(app.port);
    await until(() => refused.state.error !== '' || refused.state.closedAt > 0, 2000, 'the new connection to fail');
    expect(refused.state.error).toBe('ECONNREFUSED');
    // The request finishes after the signal: answered, 503 (draining), and the connection closes after it.
    late.s.write('\r\n');
    await until(() => late.state.endedAt > 0, 2000, 'the late response and FIN');
    expect(late.state.data).toMatch(/^HTTP\/1\.1 503/);
    expect(late.state.data.toLowerCase()).toContain('connection: close');
    expect(late.state.data).toContain('draining');
    expect(late.state.error).toBe('');
    expect(await app.exited).toMatchObject({ code: 0 });
  });

  it('closes WebSocket clients with 1001', async () => {
    const app = await startApp({ WS: '1' });
    const clients = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<{ ws: WebSocket; closed: Promise<number> }>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws`);
            const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
            ws.once('message', () => resolve({ ws, closed }));
            ws.once('error', reject);
          }),
      ),
    );
    app.child.kill('SIGTERM');
    const codes = await Promise.all(clients.map((c) => c.closed));
    expect(codes).toEqual([1001, 1001, 1001]);
    expect(await app.exited).toMatchObject({ code: 0 });
    expect(app.output()).toMatch(/SIGTERM: draining \(0 requests in flight, 3 WebSockets\)/);
  });

  it("drains on PM2's shutdown message too", async () => {
    const app = await startApp({ HANDOFF: '100' });
    const t0 = Date.now();
    app.child.send('shutdown');
    const e = await app.exited;
    expect(e.code).toBe(0);
    expect(e.at - t0).toBeLessThan(1000);
    expect(app.output()).toContain('shutdown message: draining');
  });

  it('exits 0 at the deadline (ZDD_KILL_TIMEOUT minus the margin) when a request never finishes', async () => {
    const app = await startApp({ ZDD_KILL_TIMEOUT: '1500' });
    const hung = rawClient(app.port);
    await hung.connected;
    hung.s.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(100);
    const t0 = Date.now();
    app.child.kill('SIGINT');
    const e = await app.exited;
    expect(e).toMatchObject({ code: 0, signal: null });
    // Deadline 1500 - 500 = 1000 ms, then at most 250 ms for the cleanups: before PM2's SIGKILL at 1500.
    expect(e.at - t0).toBeGreaterThanOrEqual(990);
    expect(e.at - t0).toBeLessThan(1450);
    await until(() => hung.state.closedAt > 0, 1000, 'the hung connection to be closed');
    expect(hung.state.data).toBe('');
    expect(app.output()).toMatch(/deadline \(1000 ms\) hit with 1 request\(s\) in flight/);
    expect(app.output()).toContain('cleanup 2'); // cleanups still ran
  });

  it('in process: ready for a server that already listens, isDraining(), shutdown() without signals', async () => {
    const server = http.createServer((_req, res) => res.end('x'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const exits: number[] = [];
    const lines: string[] = [];
    const hooks: string[] = [];
    const life = reloadSafe(server, {
      signals: [],
      sendReady: false, // this process is a vitest worker: its IPC channel is vitest's
      handoffWindow: 50,
      killTimeout: 5000,
      exit: (code) => exits.push(code),
      log: (line) => lines.push(line),
      onShutdown: (why) => void hooks.push(why),
    });
    await life.ready;
    expect(life.isDraining()).toBe(false);
    const done = life.shutdown('test');
    expect(life.isDraining()).toBe(true);
    expect(isDraining()).toBe(true);
    expect(life.shutdown('again')).toBe(done); // idempotent
    await done;
    expect(exits).toEqual([0]);
    expect(hooks).toEqual(['test']);
    expect(server.listening).toBe(false);
    expect(lines.join('\n')).toMatch(/test: draining/);
  });

  it('in process: with two servers, the process exits once, when the last one has drained', async () => {
    const servers = [http.createServer((_q, r) => r.end('a')), http.createServer((_q, r) => r.end('b'))];
    await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))));
    const exits: string[] = [];
    const common = { signals: [] as NodeJS.Signals[], sendReady: false, killTimeout: 5000, log: false as const };
    const fast = reloadSafe(servers[0]!, { ...common, handoffWindow: 20, exit: () => exits.push('fast') });
    const slow = reloadSafe(servers[1]!, { ...common, handoffWindow: 300, exit: () => exits.push('slow') });
    const [a, b] = [fast.shutdown('x'), slow.shutdown('x')];
    await a;
    expect(exits).toEqual([]);
    await b;
    expect(exits).toEqual(['slow']);
  });
});
