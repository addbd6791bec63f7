/**
 * zdd/runtime: make a Node HTTP server safe to reload under a PM2 cluster. Zero dependencies.
 *
 *   import { reloadSafe } from 'zdd/runtime';          // or: from './reload-safe.mjs' (zdd init)
 *   const server = app.listen(process.env.PORT);
 *   const life = reloadSafe(server, { webSocketServer: wss, onShutdown: () => pool.end() });
 *   app.get('/healthz', (req, res) => res.status(life.isDraining() ? 503 : 200).end());
 *
 * What it does:
 * - sends `process.send('ready')` once the server listens (at once if it already does), which PM2's
 *   `wait_ready` and zdd's canary wait for;
 * - on SIGINT, SIGTERM or PM2's `shutdown` message: marks the process draining (`isDraining()`, for
 *   a health check that answers 503) and stops accepting (under a PM2 cluster this takes the worker
 *   out of the round-robin), without closing keep-alive connections at once: a connection that looks
 *   idle may already hold the client's next request, unread, and closing it answers that request
 *   with a reset (Nginx does not retry a POST; a keep-alive client sees an error). Instead every
 *   response from then on says `Connection: close` and the connection closes after it, and a
 *   connection is closed (FIN) only once it has been quiet for `quietPeriod` ms with no request
 *   being read. Then it closes WebSocket clients with 1001 "going away" (terminating those that do
 *   not answer) and runs the cleanup callbacks (database pools, queues);
 * - leaves a PM2 cluster cleanly: for a moment after it stops accepting the PM2 primary may still
 *   hand this worker a connection; Node passes it back, but only while this process is alive. So a
 *   cluster worker exits only after a round trip to the primary (Node's `cluster.worker.disconnect()`),
 *   whose answer comes after the primary has taken the worker out of its rotation. That takes a few
 *   ms; on a Node without `process.getBuiltinModule` (before 20.16) it waits a fixed second instead;
 * - exits 0 when all of that is done, or at a deadline before PM2's SIGKILL: `killTimeout` (option,
 *   else env ZDD_KILL_TIMEOUT, which zdd sets, else PM2's default 1600) minus `deadlineMargin`.
 *
 * zdd also loads this code into apps that do not use it (backend.reloadSafe, on by default); a
 * server given to reloadSafe() is left to it. This file is copied verbatim (compiled) to
 * templates/reload-safe.mjs; a test keeps them equal.
 */
import type { Server } from 'node:http';
import { countAnswers, reportAnswersToPm2 } from './answers.js';
import { httpDrain } from './drain.js';
import { clusterWorker, flushOutput, leaveCluster, msValue, quietPeriodOf } from './process.js';

/** The part of a `ws` WebSocket this helper uses. */
export interface WebSocketLike {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** The part of a `ws` WebSocketServer this helper uses (`clientTracking` must be on, the default). */
export interface WebSocketServerLike {
  readonly clients: Iterable<WebSocketLike>;
  on(event: 'connection', listener: (socket: WebSocketLike) => void): unknown;
}

/** A cleanup step: close a database pool, flush a queue. May return a promise. */
export type ShutdownHook = (reason: string) => unknown;

export interface ReloadSafeOptions {
  /** WebSocket server(s) whose clients get a 1001 close when the process drains. */
  webSocketServer?: WebSocketServerLike | WebSocketServerLike[];
  /** Cleanup callbacks, run in order once the server has closed (or at the deadline). */
  onShutdown?: ShutdownHook | ShutdownHook[];
  /**
   * ms PM2 gives the process between SIGINT and SIGKILL (`backend.killTimeout`). Default: env
   * ZDD_KILL_TIMEOUT (zdd sets it for the app), else 1600 (PM2's default `kill_timeout`).
   */
  killTimeout?: number;
  /** The process exits this many ms before `killTimeout` at the latest. Default 500. */
  deadlineMargin?: number;
  /**
   * ms to stay alive after `server.close()`, on top of the round trip to the cluster primary. Default
   * 0 (1000 in a cluster worker on a Node without `process.getBuiltinModule`, where zdd cannot reach
   * the cluster module without an import). Capped by the deadline.
   */
  handoffWindow?: number;
  /**
   * ms a keep-alive connection must have been quiet (no request in flight, none being read, no bytes
   * received) before a draining server closes it. Default: env ZDD_QUIET_PERIOD, else 250 (measured:
   * bench rows 9).
   */
  quietPeriod?: number;
  /** ms a WebSocket client gets to answer the 1001 close before it is terminated. Default 2000. */
  webSocketCloseTimeout?: number;
  /** Signals that start draining. Default ['SIGINT', 'SIGTERM']. Pass [] to trigger `shutdown()` yourself. */
  signals?: NodeJS.Signals[];
  /** Send `ready` only after this also resolves (say, the database is connected). */
  readyWhen?: PromiseLike<unknown>;
  /** Send `process.send('ready')`. Default true. */
  sendReady?: boolean;
  /** Where progress lines go. Default console.log/console.error; false for none. */
  log?: false | ((line: string, level: 'info' | 'error') => void);
  /** How to end the process. Default `process.exit`. */
  exit?: (code: number) => void;
}

export interface ReloadSafe {
  /** True from the moment draining starts: answer health checks with 503. */
  isDraining(): boolean;
  /** Start draining now (what a signal does). Resolves when draining is over, just before the exit. */
  shutdown(reason?: string): Promise<void>;
  /** Resolves once `ready` was sent (or would have been, without an IPC channel). */
  readonly ready: Promise<void>;
}

/** What this process's copies of zdd's code share: the servers reloadSafe() manages, the draining flag. */
interface Shared {
  managed: WeakSet<Server>;
  draining: boolean;
}
export function shared(): Shared {
  const g = globalThis as unknown as Record<symbol, Shared | undefined>;
  return (g[Symbol.for('zdd.reload-safe')] ??= { managed: new WeakSet(), draining: false });
}

/** Every reloadSafe() of this process: the process exits once all of those draining are done. */
const instances: { draining: boolean; done: boolean }[] = [];

/** True once any reloadSafe() (or zdd's preload) in this process started draining. For health handlers. */
export function isDraining(): boolean {
  return shared().draining;
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Make `server` reload-safe: `ready` after listen, and a clean drain and exit on SIGINT, SIGTERM or
 * PM2's `shutdown` message. Call it once per server, right after `listen()` (or before: it waits).
 * With several servers in one process, each sends `ready` (PM2 needs one: pass `sendReady: false`
 * to all but the last to listen) and the process exits when the last of them has drained.
 */
export function reloadSafe(server: Server, options: ReloadSafeOptions = {}): ReloadSafe {
  const killTimeout = msValue(options.killTimeout ?? process.env.ZDD_KILL_TIMEOUT, 1600);
  const margin = msValue(options.deadlineMargin, 500);
  // Never let the margin eat more than half of a short killTimeout.
  const deadlineMs = Math.max(killTimeout - margin, Math.floor(killTimeout / 2));
  const worker = clusterWorker();
  const handoffMs = Math.min(msValue(options.handoffWindow, worker === null ? 1000 : 0), deadlineMs);
  const quietMs = quietPeriodOf(options.quietPeriod);
  const wsCloseMs = msValue(options.webSocketCloseTimeout, 2000);
  const hooks = asList(options.onShutdown);
  const wsServers = asList(options.webSocketServer);
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log =
    options.log === false
      ? () => {}
      : (options.log ?? ((line: string, level: 'info' | 'error') => (level === 'error' ? console.error(line) : console.log(line))));
  const say = (line: string, level: 'info' | 'error' = 'info') => log(`reload-safe pid=${process.pid}: ${line}`, level);

  shared().managed.add(server);
  const http = httpDrain(server);
  // The answers it gives, for a deploy's bake (under PM2 only).
  countAnswers(server);
  reportAnswersToPm2();
  let draining = false;
  let finished: Promise<void> | undefined;
  const me = { draining: false, done: false };
  instances.push(me);

  for (const wss of wsServers) {
    // A client that connects while draining (handed over in the window) is told to go elsewhere.
    wss.on('connection', (ws) => {
      if (draining) ws.close(1001, 'server restarting');
    });
  }

  const ready = (async () => {
    if (!server.listening) await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    if (options.readyWhen) await options.readyWhen;
    if (options.sendReady !== false && typeof process.send === 'function' && !draining) process.send('ready');
  })();
  ready.catch((err: unknown) => say(`not ready: ${(err as Error)?.message ?? String(err)}`, 'error'));

  const shutdown = (reason = 'shutdown()'): Promise<void> => {
    if (finished) return finished;
    draining = true;
    me.draining = true;
    shared().draining = true;
    const started = Date.now();
    const wsClients = wsServers.flatMap((wss) => [...wss.clients]);
    const inFlight = http.inFlight();
    say(
      `${reason}: draining (${inFlight} request${inFlight === 1 ? '' : 's'} in flight, ${wsClients.length} WebSocket${wsClients.length === 1 ? '' : 's'}); exit within ${deadlineMs} ms`,
    );

    finished = new Promise<void>((resolveFinished) => {
      let done = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (why: string, level: 'info' | 'error' = 'info') => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        me.done = true;
        // Several servers in one process: the last one to finish draining ends the process.
        const last = instances.every((i) => !i.draining || i.done);
        say(`${why} after ${Date.now() - started} ms${last ? '; exiting' : ''}`, level);
        if (!last) return resolveFinished();
        // Flushing the logs and the round trip share what is left of the deadline (a moment after a
        // deadline hit, still well before PM2's SIGKILL).
        const bound = Math.max(deadlineMs - (Date.now() - started), Math.min(100, margin / 4));
        const end = Date.now() + bound;
        void (async () => {
          await flushOutput(Math.min(bound / 2, 1000));
          return leaveCluster(worker, Math.max(end - Date.now(), 0));
        })().then((left) => {
          if (left === 'timeout') say(`the cluster primary did not confirm within ${bound} ms; exiting anyway`, 'error');
          resolveFinished();
          exit(0);
        });
      };

      let afterClose: Promise<void> | undefined;
      const runHooks = () =>
        (afterClose ??= (async () => {
          for (const hook of hooks) {
            try {
              await hook(reason);
            } catch (err) {
              say(`cleanup failed: ${(err as Error)?.stack ?? String(err)}`, 'error');
            }
          }
        })());
      let closed = false;
      let windowOver = handoffMs === 0;
      let hooksDone = false;
      const maybeDone = () => {
        if (closed && windowOver && hooksDone) finish('drained');
      };
      // 1. Stop accepting; from now on every response closes its connection, and quiet ones close.
      void http.start(quietMs).then(() => {
        closed = true;
        void runHooks().then(() => {
          hooksDone = true;
          maybeDone();
        });
      });

      // 2. WebSockets: 1001, then terminate the ones that do not answer.
      for (const ws of wsClients) if (ws.readyState <= 1) ws.close(1001, 'server restarting');
      if (wsServers.length) {
        const t = setTimeout(
          () => {
            for (const wss of wsServers) for (const ws of wss.clients) ws.terminate();
          },
          Math.min(wsCloseMs, deadlineMs),
        );
        t.unref();
        timers.push(t);
      }

      // 3. An extra wait after close(), if asked for (the cluster round trip comes at the exit).
      if (!windowOver) {
        const t = setTimeout(() => {
          windowOver = true;
          maybeDone();
        }, handoffMs);
        timers.push(t);
      }

      // 4. The deadline: cut what is left, give the cleanups a moment, exit before PM2's SIGKILL.
      const hard = setTimeout(() => {
        const left = http.inFlight();
        http.cut();
        for (const wss of wsServers) for (const ws of wss.clients) ws.terminate();
        const grace = setTimeout(
          () => finish(`deadline (${deadlineMs} ms) hit with ${left} request(s) in flight; cleanup did not finish`, 'error'),
          Math.min(250, Math.max(margin / 2, 0)),
        );
        timers.push(grace);
        void runHooks().then(() => finish(`deadline (${deadlineMs} ms) hit with ${left} request(s) in flight`, 'error'));
      }, deadlineMs);
      timers.push(hard);
    });
    return finished;
  };

  for (const sig of options.signals ?? (['SIGINT', 'SIGTERM'] as NodeJS.Signals[])) {
    process.on(sig, () => void shutdown(sig));
  }
  // PM2 sends this message instead of a signal with `shutdown_with_message` (and on Windows).
  if (typeof process.send === 'function') {
    process.on('message', (msg: unknown) => {
      if (msg === 'shutdown') void shutdown('shutdown message');
    });
  }

  return { isDraining: () => draining, shutdown, ready };
}

export default reloadSafe;
