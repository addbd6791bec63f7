// reload-safe.mjs: zdd's runtime helper (the package exports it as `zdd/runtime`), to copy into a
// backend. Zero dependencies; Node >= 18.2. Generated from src/runtime/index.ts: do not edit here.
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
 *   a health check that answers 503), `server.close()` (stop accepting; under a PM2 cluster this
 *   takes the worker out of the round-robin), closes idle keep-alive connections, answers requests
 *   still in flight with `Connection: close` and closes their connection after the response, closes
 *   WebSocket clients with 1001 "going away" (terminating those that do not answer), then runs the
 *   cleanup callbacks (database pools, queues);
 * - leaves a PM2 cluster cleanly: for a moment after `server.close()` the PM2 primary may still hand
 *   this worker a connection; Node passes it back, but only while this process is alive. So a cluster
 *   worker exits only after a round trip to the primary (Node's `cluster.worker.disconnect()`), whose
 *   answer comes after the primary has taken the worker out of its rotation. That takes a few ms;
 *   on a Node without `process.getBuiltinModule` (before 20.16) it waits a fixed second instead;
 * - exits 0 when all of that is done, or at a deadline before PM2's SIGKILL: `killTimeout` (option,
 *   else env ZDD_KILL_TIMEOUT, which zdd sets, else PM2's default 1600) minus `deadlineMargin`.
 *
 * This file is copied verbatim (compiled) to templates/reload-safe.mjs; a test keeps them equal.
 */
/**
 * This process's `cluster.worker` (PM2 cluster mode runs apps as Node cluster workers); undefined in
 * fork mode, outside PM2, or where `process.getBuiltinModule` is missing (`null` then: cannot tell).
 */
function clusterWorker() {
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
function leaveCluster(worker, boundMs) {
    if (!worker || !worker.isConnected())
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
function flushOutput(boundMs) {
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
let processDraining = false;
/** Every reloadSafe() of this process: the process exits once all of those draining are done. */
const instances = [];
/** True once any reloadSafe() in this process started draining. For health handlers. */
export function isDraining() {
    return processDraining;
}
/** ms, from an option, an environment variable or a default; rejects nonsense. */
function msValue(value, fallback) {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : fallback;
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
    const wsCloseMs = msValue(options.webSocketCloseTimeout, 2000);
    const hooks = asList(options.onShutdown);
    const wsServers = asList(options.webSocketServer);
    const exit = options.exit ?? ((code) => process.exit(code));
    const log = options.log === false
        ? () => { }
        : options.log ?? ((line, level) => (level === 'error' ? console.error(line) : console.log(line)));
    const say = (line, level = 'info') => log(`reload-safe pid=${process.pid}: ${line}`, level);
    let draining = false;
    let finished;
    const me = { draining: false, done: false };
    instances.push(me);
    /** Responses not finished yet, and how many each socket carries. */
    const open = new Set();
    const perSocket = new Map();
    const endIfIdle = (socket) => {
        // After the response went out, a keep-alive socket would sit idle until keepAliveTimeout.
        setImmediate(() => {
            if (!perSocket.has(socket) && !socket.destroyed)
                socket.end();
        });
    };
    // prependListener: run before the app's handler, so a response it writes at once still gets the header.
    server.prependListener('request', (req, res) => {
        const socket = req.socket;
        open.add(res);
        perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
        if (draining)
            res.setHeader('Connection', 'close');
        res.once('close', () => {
            open.delete(res);
            const n = (perSocket.get(socket) ?? 1) - 1;
            if (n > 0)
                perSocket.set(socket, n);
            else
                perSocket.delete(socket);
            if (draining)
                endIfIdle(socket);
        });
    });
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
        processDraining = true;
        const started = Date.now();
        const wsClients = wsServers.flatMap((wss) => [...wss.clients]);
        say(`${reason}: draining (${open.size} request${open.size === 1 ? '' : 's'} in flight, ${wsClients.length} WebSocket${wsClients.length === 1 ? '' : 's'}); exit within ${deadlineMs} ms`);
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
            // 1. Stop accepting. Since Node 19 close() also closes idle keep-alive sockets.
            let closed = false;
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
            let windowOver = handoffMs === 0;
            let hooksDone = false;
            const maybeDone = () => {
                if (closed && windowOver && hooksDone)
                    finish('drained');
            };
            server.close(() => {
                closed = true;
                void runHooks().then(() => {
                    hooksDone = true;
                    maybeDone();
                });
            });
            server.closeIdleConnections?.();
            // 2. Requests in flight: answer with Connection: close; responses already started close the
            //    socket when they end (see the 'request' listener).
            for (const res of open)
                if (!res.headersSent)
                    res.setHeader('Connection', 'close');
            // 3. WebSockets: 1001, then terminate the ones that do not answer.
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
            // 4. An extra wait after close(), if asked for (the cluster round trip comes at the exit).
            if (!windowOver) {
                const t = setTimeout(() => {
                    windowOver = true;
                    maybeDone();
                }, handoffMs);
                timers.push(t);
            }
            // 5. The deadline: cut what is left, give the cleanups a moment, exit before PM2's SIGKILL.
            const hard = setTimeout(() => {
                const left = open.size;
                server.closeAllConnections?.();
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
