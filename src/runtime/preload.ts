/**
 * zdd's reload safety for an app that does nothing for it (`backend.reloadSafe`, on by default). zdd
 * starts every PM2 worker and the canary with `node --require <release>/reload-safe.cjs` (this file,
 * bundled with the runtime by `npm run build`). It changes nothing until the app's HTTP server
 * listens on `PORT`; then:
 * - it sends `ready` (what PM2's `wait_ready` and the canary wait for), unless the app sent it first
 *   or hands the server to reloadSafe(), which sends it itself;
 * - on SIGINT, SIGTERM or PM2's `shutdown` message it drains the server as reloadSafe() does (stop
 *   accepting, `Connection: close` on every later response, close a connection only once it has been
 *   quiet, WebSockets of `ws` and socket.io closed with 1001), then leaves the PM2 cluster and exits;
 * - an app with shutdown code of its own keeps it: its SIGINT/SIGTERM handlers run, once the drain
 *   is over (or 60 % of the way to the deadline), so its cleanup still happens but can no longer cut
 *   a request or answer one with 503 while closing; the server's close(), closeIdleConnections() and
 *   closeAllConnections() become that same drain, and process.exit() waits until it is over. If the
 *   app does not exit by the deadline, this exits then, before PM2's SIGKILL.
 * It prints one line when it takes the server over and says who sends `ready` and who drains; the
 * canary and `zdd doctor` read that line. Under PM2 it also counts the server's answers and its 5xx
 * (runtime/answers.ts), which a deploy's bake reads.
 */
import net from 'node:net';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { countAnswers, reportAnswersToPm2 } from './answers.js';
import { httpDrain, type HttpDrain } from './drain.js';
import { shared } from './index.js';
import { clusterWorker, flushOutput, leaveCluster, msValue, quietPeriodOf } from './process.js';

const PREFIX = 'zdd reload-safety';
const say = (line: string) => console.log(`${PREFIX} pid=${process.pid}: ${line}`);
// Read when needed, not at load: PM2's cluster mode sets the app's environment (PORT among it) inside
// the worker after this file ran.
const port = () => Number(process.env.PORT);
const deadlineOf = () => {
  const killTimeout = msValue(process.env.ZDD_KILL_TIMEOUT, 1600);
  return Math.max(killTimeout - 500, Math.floor(killTimeout / 2));
};
const wsCloseMs = 2000;

const adopted: { server: Server; drain: HttpDrain }[] = [];
let stopping: Promise<void> | undefined;
let exitCode: number | undefined;

// Who sends `ready`: watch the app's process.send (PM2's and the cluster's own messages pass untouched).
const send = process.send?.bind(process);
let readySent = false;
if (send) {
  process.send = function (this: unknown, ...args: Parameters<typeof send>) {
    if (args[0] === 'ready') readySent = true;
    return send(...args);
  } as typeof process.send;
}

const realExit = process.exit.bind(process);

/** This file's own signal handlers. */
const ours = new Set<() => void>();
/** The app's own handlers for a signal (this file's are not counted). */
const appHandlers = (sig: NodeJS.Signals) => process.listeners(sig).filter((l) => !ours.has(l as () => void)).length;
/** Resolves when the app's own signal handlers may run: the drain is over. Set at the first signal. */
let appTurn: Promise<void> | undefined;

// The app's SIGINT/SIGTERM handlers are registered wrapped: when the signal comes they wait for
// their turn (after the drain), whatever order they were added in.
type Listener = (...args: unknown[]) => unknown;
const SIGNALS = new Set<string | symbol>(['SIGINT', 'SIGTERM']);
const wrapped = new WeakMap<Listener, Listener>();
const deferred = (sig: NodeJS.Signals, listener: Listener): Listener => {
  let w = wrapped.get(listener);
  if (!w) {
    w = function (this: unknown, ...args: unknown[]) {
      onStop(sig, sig);
      void appTurn!.then(() => listener.apply(this, args));
    };
    wrapped.set(listener, w);
  }
  return w;
};
for (const method of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener'] as const) {
  const add = process[method] as (event: string | symbol, l: Listener) => NodeJS.Process;
  process[method] = function (this: NodeJS.Process, event: string | symbol, l: Listener) {
    const mine = ours.has(l as () => void) || !SIGNALS.has(event) || typeof l !== 'function';
    return add.call(this, event, mine ? l : deferred(event as NodeJS.Signals, l));
  } as never;
}
for (const method of ['off', 'removeListener'] as const) {
  const remove = process[method] as (event: string | symbol, l: Listener) => NodeJS.Process;
  process[method] = function (this: NodeJS.Process, event: string | symbol, l: Listener) {
    return remove.call(this, event, (SIGNALS.has(event) && wrapped.get(l)) || l);
  } as never;
}

/** The `ws` WebSocket an upgraded socket belongs to (`ws` keeps it under a symbol of the socket). */
function webSocketOf(socket: Socket): { close(code: number, reason: string): void; terminate(): void } | undefined {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    const v = (socket as unknown as Record<symbol, unknown>)[key] as Record<string, unknown> | undefined;
    if (v && typeof v.close === 'function' && typeof v.terminate === 'function' && 'readyState' in v) return v as never;
  }
  return undefined;
}

/** The servers this file drains: those taken over and not handed to reloadSafe() (which drains its own). */
const serversToDrain = () => adopted.filter((a) => !shared().managed.has(a.server));

/** Tell every WebSocket of the drained servers to go away (1001); terminate the ones still open later. */
function closeWebSockets(told: Set<Socket>): void {
  for (const { drain } of serversToDrain()) {
    for (const socket of drain.upgraded()) {
      if (told.has(socket)) continue;
      told.add(socket);
      const ws = webSocketOf(socket);
      if (ws) ws.close(1001, 'server restarting');
      else socket.end();
      setTimeout(() => (ws ? ws.terminate() : socket.destroy()), wsCloseMs).unref();
    }
  }
}

/** Drain every server taken over; resolves when all are drained or at the deadline. */
function drainAll(reason: string): Promise<void> {
  if (stopping) return stopping;
  shared().draining = true;
  const started = Date.now();
  const deadlineMs = deadlineOf();
  const mine = serversToDrain();
  const inFlight = mine.reduce((n, a) => n + a.drain.inFlight(), 0);
  say(`${reason}: draining (${inFlight} request${inFlight === 1 ? '' : 's'} in flight); exit within ${deadlineMs} ms`);
  const quiet = quietPeriodOf();
  const told = new Set<Socket>();
  const ws = setInterval(() => closeWebSockets(told), 50);
  closeWebSockets(told);
  const drained = Promise.all(mine.map((a) => a.drain.start(quiet))).then(() => 'drained');
  const deadline = new Promise<string>((resolve) => setTimeout(() => resolve('deadline'), deadlineMs).unref());
  stopping = Promise.race([drained, deadline]).then((how) => {
    clearInterval(ws);
    if (how === 'deadline') for (const a of mine) a.drain.cut();
    say(`${how === 'drained' ? 'drained' : `deadline (${deadlineMs} ms) hit`} after ${Date.now() - started} ms`);
  });
  return stopping;
}

/** Exit once drained, after the logs went out and the worker left the cluster (see zdd/runtime). */
async function exitWhenDrained(code: number): Promise<void> {
  exitCode ??= code;
  await (stopping ?? Promise.resolve());
  await flushOutput(500);
  await leaveCluster(clusterWorker(), 1000);
  realExit(exitCode);
}

function onStop(reason: string, sig?: NodeJS.Signals): void {
  if (stopping) return;
  const at = Date.now();
  const deadlineMs = deadlineOf();
  // PM2's `shutdown` message: zdd/runtime listens for it too, and exits by itself when done.
  const appOwns = sig ? appHandlers(sig) > 0 : adopted.some((a) => shared().managed.has(a.server));
  // From now on process.exit() (the app's, or zdd/runtime's) waits for the drain.
  process.exit = ((code?: number) => void exitWhenDrained(code ?? Number(process.exitCode ?? 0))) as typeof process.exit;
  const drained = drainAll(reason);
  // The app's own handlers run once the drain is over, or early enough to finish before the deadline.
  appTurn = Promise.race([drained, new Promise<void>((r) => setTimeout(r, deadlineMs * 0.6).unref())]);
  void drained.then(() => {
    if (!appOwns) return exitWhenDrained(0);
    // The app's own handler decides when to exit; at the deadline, before PM2's SIGKILL, we do.
    setTimeout(() => void exitWhenDrained(0), Math.max(0, at + deadlineMs - Date.now())).unref();
  });
}

/** Make the app's own close calls on a server taken over drain it instead of cutting connections. */
function patchClose(server: Server, drain: HttpDrain): void {
  const { closeIdleConnections, closeAllConnections } = server;
  server.close = (cb?: (err?: Error) => void) => {
    void drain.start(quietPeriodOf()).then(() => cb?.());
    return server;
  };
  server.closeIdleConnections = () => (drain.draining ? undefined : closeIdleConnections.call(server));
  server.closeAllConnections = () => (drain.draining ? undefined : closeAllConnections.call(server));
}

function take(server: Server): void {
  const drain = httpDrain(server);
  adopted.push({ server, drain });
  patchClose(server, drain);
  // The answers it gives, for a deploy's bake (sent to PM2; nothing outside PM2).
  countAnswers(server);
  reportAnswersToPm2(send);
  // After the 'listening' handlers of the app (its own `ready`, a reloadSafe() call in a callback).
  setImmediate(() => {
    const runtime = shared().managed.has(server);
    let ready = send ? 'the app' : 'none (no IPC channel)';
    if (runtime) ready = 'zdd/runtime';
    else if (!readySent && send) {
      send('ready');
      ready = 'zdd';
    }
    const own = appHandlers('SIGINT') + appHandlers('SIGTERM') > 0;
    const shutdown = runtime ? 'zdd/runtime' : own ? "the app's own handler, after zdd's drain" : 'zdd';
    say(`listening on port ${port()} (PORT); ready: ${ready}; shutdown: ${shutdown}`);
  });
}

function onListening(server: net.Server): void {
  const addr = server.address();
  const at = addr && typeof addr === 'object' ? addr.port : undefined;
  const http = typeof (server as Partial<Server>).closeIdleConnections === 'function';
  if (!http || at === undefined) return;
  if (at !== port() || adopted.length > 0) {
    say(`listening on port ${at}, not PORT (${Number.isFinite(port()) ? port() : 'unset'}): left alone`);
    return;
  }
  take(server as Server);
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
  this.once('listening', () => onListening(this));
  return (listen as (...a: unknown[]) => net.Server).apply(this, args);
} as typeof listen;

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  const handler = () => onStop(sig, sig);
  ours.add(handler);
  process.on(sig, handler);
}
if (send) {
  const onMessage = (msg: unknown) => msg === 'shutdown' && onStop('shutdown message');
  process.on('message', onMessage);
}
