// reload-safe.mjs: zdd's runtime helper (the package exports it as `zdd/runtime`), to copy into a
// backend. Zero dependencies; Node >= 18.2. Generated from src/runtime/: do not edit here.
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
/**
 * This process's `cluster.worker` (PM2 cluster mode runs apps as Node cluster workers); undefined in
 * fork mode, outside PM2, or where `process.getBuiltinModule` is missing (`null` then: cannot tell).
 */
export function clusterWorker() {
    const getBuiltin = process.getBuiltinModule;
    if (typeof getBuiltin !== 'function')
        return typeof process.send === 'function' ? null : undefined;
    const cluster = getBuiltin('node:cluster');
    return cluster?.isWorker ? cluster.worker : undefined;
}
/**
 * Leave the cluster: Node's worker-side `disconnect()` sends the primary a message and waits for its
 * answer. The primary handles its messages in order, so that answer comes after it handled the close
 * `server.close()` sent; and any connection it handed over before then reached this worker first and
 * was passed back. Resolves on the answer, at once outside a cluster, or after `boundMs`.
 */
export function leaveCluster(worker, boundMs) {
    if (!worker?.isConnected())
        return Promise.resolve('none');
    return new Promise((resolve) => {
        const t = setTimeout(() => resolve('timeout'), boundMs);
        worker.once('disconnect', () => {
            clearTimeout(t);
            resolve('left');
        });
        try {
            worker.disconnect();
        }
        catch {
            clearTimeout(t);
            resolve('none');
        }
    });
}
/**
 * Resolves once what was written to stdout and stderr went out, or after `boundMs`. PM2's cluster
 * mode writes an app's logs to their files from inside the app, asynchronously: an exit right after
 * the last lines cuts them off.
 */
export function flushOutput(boundMs) {
    return new Promise((resolve) => {
        let left = 2;
        const t = setTimeout(resolve, boundMs);
        const one = () => {
            if (--left === 0) {
                clearTimeout(t);
                resolve();
            }
        };
        for (const stream of [process.stdout, process.stderr]) {
            try {
                stream.write('', one);
            }
            catch {
                one();
            }
        }
    });
}
/** ms, from an option, an environment variable or a default; rejects nonsense. */
export function msValue(value, fallback) {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : fallback;
}
/** The quiet period of a drain: option, else env ZDD_QUIET_PERIOD, else 250 ms. */
export const quietPeriodOf = (option) => msValue(option ?? process.env.ZDD_QUIET_PERIOD, 250);

const DRAIN = Symbol.for('zdd.http-drain');
/** net.Server's close(): stops accepting without http.Server's closeIdleConnections() (Node >= 19). */
function netClose(server) {
    const getBuiltin = process.getBuiltinModule;
    const net = typeof getBuiltin === 'function' ? getBuiltin('node:net') : undefined;
    // Without getBuiltinModule: the prototype that owns listen() is net.Server's.
    let proto = net?.Server.prototype ?? Object.getPrototypeOf(server);
    while (proto && !net && !Object.hasOwn(proto, 'listen'))
        proto = Object.getPrototypeOf(proto);
    const close = proto?.close ?? server.close;
    return (cb) => close.call(server, cb);
}
/**
 * The drain of `server`, one per server (shared by every copy of this code in the process). Call it
 * before the server takes connections: it counts requests per connection from then on.
 */
export function httpDrain(server) {
    const own = server[DRAIN];
    if (own)
        return own;
    const conns = new Map();
    const open = new Set();
    let draining = false;
    let finished;
    let sweeper;
    const track = (socket) => {
        let c = conns.get(socket);
        if (!c) {
            c = { requests: 0, lastActive: Date.now(), bytes: socket.bytesRead ?? 0, ending: false };
            conns.set(socket, c);
            socket.once('close', () => conns.delete(socket));
        }
        return c;
    };
    const closeAfter = (res) => {
        if (res.headersSent)
            return; // a keep-alive answer already on its way: the sweep closes the connection
        res.setHeader('Connection', 'close');
        res.shouldKeepAlive = false;
    };
    // An HTTPS server's 'connection' is the raw TCP socket under the TLS one: track the TLS sockets.
    const tls = typeof server.setSecureContext === 'function';
    server.prependListener(tls ? 'secureConnection' : 'connection', (socket) => void track(socket));
    server.prependListener('request', (req, res) => {
        const c = track(req.socket);
        c.requests++;
        c.lastActive = Date.now();
        open.add(res);
        if (draining)
            closeAfter(res);
        res.once('close', () => {
            open.delete(res);
            c.requests--;
            c.lastActive = Date.now();
            c.bytes = req.socket.bytesRead ?? 0;
        });
    });
    // Node's own list of the server's connections knows which ones are reading a request right now
    // (it is set up when the server starts listening: looked up when needed).
    const readingNone = () => {
        const listKey = Object.getOwnPropertySymbols(server).find((k) => k.description === 'http.server.connections');
        try {
            const list = listKey && server[listKey];
            return list ? new Set(list.idle().map((p) => p.socket)) : undefined;
        }
        catch {
            return undefined;
        }
    };
    /**
     * Close (FIN) every connection that is quiet: no request in flight, no byte received since its last
     * answer (that would be a request on its way), none being read, and quietMs since it was last used.
     */
    const sweep = (quietMs) => {
        const now = Date.now();
        const idle = readingNone();
        for (const [socket, c] of conns) {
            const parser = socket.parser;
            if (c.ending || socket.destroyed || c.requests > 0 || !parser)
                continue; // !parser: upgraded
            if ((idle && !idle.has(socket)) || (socket.bytesRead ?? 0) !== c.bytes || now - c.lastActive < quietMs)
                continue;
            c.ending = true;
            socket.end();
        }
    };
    const drain = {
        get draining() {
            return draining;
        },
        inFlight: () => open.size,
        upgraded: () => [...conns.keys()].filter((s) => !s.destroyed && !s.parser),
        start(quietMs) {
            if (finished)
                return finished;
            draining = true;
            for (const res of open)
                closeAfter(res);
            finished = new Promise((resolve) => netClose(server)(() => {
                clearInterval(sweeper);
                resolve();
            }));
            sweep(quietMs);
            sweeper = setInterval(() => sweep(quietMs), Math.max(5, Math.min(50, quietMs / 4)));
            return finished;
        },
        cut() {
            clearInterval(sweeper);
            const proto = Object.getPrototypeOf(server);
            proto.closeAllConnections?.call(server);
            for (const socket of conns.keys())
                socket.destroy();
        },
    };
    server[DRAIN] = drain;
    return drain;
}

/** One count per process, whichever copy of this code (the preload's, the app's zdd/runtime) counts. */
function counting() {
    const g = globalThis;
    const key = Symbol.for('zdd.answers');
    g[key] ??= { answers: 0, errors: 0, servers: new WeakSet(), reporting: false };
    return g[key];
}
export function answerCounts() {
    const c = counting();
    return { answers: c.answers, errors: c.errors };
}
/** Count the answers `server` gives (once per server, however many times this is called). */
export function countAnswers(server) {
    const c = counting();
    if (c.servers.has(server))
        return;
    c.servers.add(server);
    server.on('request', (_req, res) => {
        res.once('finish', () => {
            c.answers++;
            if (res.statusCode >= 500)
                c.errors++;
        });
    });
}
/** How often the counts go to PM2: often enough for a bake to see a failing release within a second. */
const REPORT_MS = 250;
/**
 * Under PM2 (`pm_id` set, an IPC channel): send the counts as PM2 custom metrics (`axm:monitor`, which
 * PM2 keeps in the process's `axm_monitor`), at once and then whenever they change. `send` is the
 * process's own send (the preload wraps process.send to see `ready`).
 */
export function reportAnswersToPm2(send = process.send?.bind(process)) {
    const c = counting();
    if (c.reporting || !send || process.env.pm_id === undefined)
        return;
    c.reporting = true;
    let last = '';
    const timer = setInterval(() => report(), REPORT_MS);
    timer.unref();
    const report = () => {
        // A worker leaving the cluster closes the channel before it exits: stop, and never send into a
        // closed channel (without a callback Node would raise that as an 'error' on the process).
        if (process.connected === false)
            return clearInterval(timer);
        const now = `${c.answers}/${c.errors}`;
        if (now === last)
            return;
        last = now;
        try {
            send({ type: 'axm:monitor', data: { 'zdd answers': { value: c.answers }, 'zdd 5xx': { value: c.errors } } }, () => { });
        }
        catch {
            // The channel closed meanwhile: nothing left to report to.
        }
    };
    report();
}

export function shared() {
    const g = globalThis;
    return (g[Symbol.for('zdd.reload-safe')] ??= { managed: new WeakSet(), draining: false });
}
/** Every reloadSafe() of this process: the process exits once all of those draining are done. */
const instances = [];
/** True once any reloadSafe() (or zdd's preload) in this process started draining. For health handlers. */
export function isDraining() {
    return shared().draining;
}
const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/**
 * Make `server` reload-safe: `ready` after listen, and a clean drain and exit on SIGINT, SIGTERM or
 * PM2's `shutdown` message. Call it once per server, right after `listen()` (or before: it waits).
 * With several servers in one process, each sends `ready` (PM2 needs one: pass `sendReady: false`
 * to all but the last to listen) and the process exits when the last of them has drained.
 */
export function reloadSafe(server, options = {}) {
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
    const exit = options.exit ?? ((code) => process.exit(code));
    const log = options.log === false
        ? () => { }
        : (options.log ?? ((line, level) => (level === 'error' ? console.error(line) : console.log(line))));
    const say = (line, level = 'info') => log(`reload-safe pid=${process.pid}: ${line}`, level);
    shared().managed.add(server);
    const http = httpDrain(server);
    // The answers it gives, for a deploy's bake (under PM2 only).
    countAnswers(server);
    reportAnswersToPm2();
    let draining = false;
    let finished;
    const me = { draining: false, done: false };
    instances.push(me);
    for (const wss of wsServers) {
        // A client that connects while draining (handed over in the window) is told to go elsewhere.
        wss.on('connection', (ws) => {
            if (draining)
                ws.close(1001, 'server restarting');
        });
    }
    const ready = (async () => {
        if (!server.listening)
            await new Promise((resolve) => server.once('listening', () => resolve()));
        if (options.readyWhen)
            await options.readyWhen;
        if (options.sendReady !== false && typeof process.send === 'function' && !draining)
            process.send('ready');
    })();
    ready.catch((err) => say(`not ready: ${err?.message ?? String(err)}`, 'error'));
    const shutdown = (reason = 'shutdown()') => {
        if (finished)
            return finished;
        draining = true;
        me.draining = true;
        shared().draining = true;
        const started = Date.now();
        const wsClients = wsServers.flatMap((wss) => [...wss.clients]);
        const inFlight = http.inFlight();
        say(`${reason}: draining (${inFlight} request${inFlight === 1 ? '' : 's'} in flight, ${wsClients.length} WebSocket${wsClients.length === 1 ? '' : 's'}); exit within ${deadlineMs} ms`);
        finished = new Promise((resolveFinished) => {
            let done = false;
            const timers = [];
            const finish = (why, level = 'info') => {
                if (done)
                    return;
                done = true;
                for (const t of timers)
                    clearTimeout(t);
                me.done = true;
                // Several servers in one process: the last one to finish draining ends the process.
                const last = instances.every((i) => !i.draining || i.done);
                say(`${why} after ${Date.now() - started} ms${last ? '; exiting' : ''}`, level);
                if (!last)
                    return resolveFinished();
                // Flushing the logs and the round trip share what is left of the deadline (a moment after a
                // deadline hit, still well before PM2's SIGKILL).
                const bound = Math.max(deadlineMs - (Date.now() - started), Math.min(100, margin / 4));
                const end = Date.now() + bound;
                void (async () => {
                    await flushOutput(Math.min(bound / 2, 1000));
                    return leaveCluster(worker, Math.max(end - Date.now(), 0));
                })().then((left) => {
                    if (left === 'timeout')
                        say(`the cluster primary did not confirm within ${bound} ms; exiting anyway`, 'error');
                    resolveFinished();
                    exit(0);
                });
            };
            let afterClose;
            const runHooks = () => (afterClose ??= (async () => {
                for (const hook of hooks) {
                    try {
                        await hook(reason);
                    }
                    catch (err) {
                        say(`cleanup failed: ${err?.stack ?? String(err)}`, 'error');
                    }
                }
            })());
            let closed = false;
            let windowOver = handoffMs === 0;
            let hooksDone = false;
            const maybeDone = () => {
                if (closed && windowOver && hooksDone)
                    finish('drained');
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
            for (const ws of wsClients)
                if (ws.readyState <= 1)
                    ws.close(1001, 'server restarting');
            if (wsServers.length) {
                const t = setTimeout(() => {
                    for (const wss of wsServers)
                        for (const ws of wss.clients)
                            ws.terminate();
                }, Math.min(wsCloseMs, deadlineMs));
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
                for (const wss of wsServers)
                    for (const ws of wss.clients)
                        ws.terminate();
                const grace = setTimeout(() => finish(`deadline (${deadlineMs} ms) hit with ${left} request(s) in flight; cleanup did not finish`, 'error'), Math.min(250, Math.max(margin / 2, 0)));
                timers.push(grace);
                void runHooks().then(() => finish(`deadline (${deadlineMs} ms) hit with ${left} request(s) in flight`, 'error'));
            }, deadlineMs);
            timers.push(hard);
        });
        return finished;
    };
    for (const sig of options.signals ?? ['SIGINT', 'SIGTERM']) {
        process.on(sig, () => void shutdown(sig));
    }
    // PM2 sends this message instead of a signal with `shutdown_with_message` (and on Windows).
    if (typeof process.send === 'function') {
        process.on('message', (msg) => {
            if (msg === 'shutdown')
                void shutdown('shutdown message');
        });
    }
    return { isDraining: () => draining, shutdown, ready };
}
export default reloadSafe;
