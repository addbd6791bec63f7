'use strict';
// Zero-dependency example backend for zdd. Designed for PM2 cluster reloads:
// it signals readiness, and on shutdown it drains in-flight requests before exiting.
const cluster = require('node:cluster');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');

// version.json may also plant a bad release, for tests of zdd's bake: `failAfterMs` (every route but
// /healthz answers 500 from that long after boot) and `crashAfterMs` (the process throws then).
const { version, failAfterMs, crashAfterMs } = JSON.parse(fs.readFileSync(path.join(__dirname, 'version.json'), 'utf8'));
const bootedAt = Date.now();
const failing = () => failAfterMs !== undefined && Date.now() - bootedAt >= failAfterMs;
if (crashAfterMs !== undefined) {
  setTimeout(() => {
    throw new Error(`planted crash ${crashAfterMs} ms after boot (version.json crashAfterMs)`);
  }, crashAfterMs).unref();
}
const port = Number(process.env.PORT ?? 3000);
const host = '127.0.0.1';
const release = process.env.ZDD_RELEASE ?? null;
const killTimeout = Number(process.env.ZDD_KILL_TIMEOUT ?? 15000);
const MAX_SLOW_MS = 60000;

let draining = false;
let inFlight = 0;

function send(res, status, body, type) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const headers = {
    'Content-Type': type ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json'),
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-store',
  };
  if (draining) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(payload);
}

const server = http.createServer((req, res) => {
  inFlight++;
  res.on('close', () => {
    inFlight--;
    maybeExit();
  });

  const url = new URL(req.url ?? '/', 'http://localhost');
  if (failing() && url.pathname !== '/healthz') return send(res, 500, 'planted failure (version.json failAfterMs)');
  if (req.method === 'POST' && url.pathname === '/api/echo') {
    // A write: answers with the number of bytes it received (the load tests send POSTs here).
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('end', () => send(res, 200, { version, release, bytes }));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, 405, 'method not allowed');
  }
  switch (url.pathname) {
    case '/healthz':
      return draining ? send(res, 503, 'draining') : send(res, 200, 'ok');
    case '/api/version':
      return send(res, 200, { version, release, pid: process.pid });
    case '/api/slow': {
      const raw = Number(url.searchParams.get('ms') ?? 0);
      const ms = Number.isFinite(raw) ? Math.min(Math.max(0, Math.floor(raw)), MAX_SLOW_MS) : 0;
      const timer = setTimeout(() => send(res, 200, { version, waited: ms }), ms);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    default:
      return send(res, 404, 'not found');
  }
});

// Longer than Nginx's upstream keepalive_timeout (60s), so Nginx always closes idle
// upstream connections first and never reuses a socket the backend is closing.
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;

// ZDD_EXAMPLE_BOOT_DELAY_MS (tests only; unset in a real deploy): wait that long before listening,
// as an app that loads a lot at boot would, so a test can act while a canary is still booting.
setTimeout(
  () => {
    server.listen(port, host, () => {
      console.log(`shop backend ${version} (release ${release}) listening on http://${host}:${port} pid=${process.pid}`);
      if (process.send) process.send('ready');
    });
  },
  Number(process.env.ZDD_EXAMPLE_BOOT_DELAY_MS ?? 0),
);

// Keep-alive connections: closing one that looks idle can cut the client's next request, already
// sent and not read yet (Nginx does not retry a POST; a keep-alive client sees a reset). So while
// draining, every response says `Connection: close`, and a connection is closed (FIN) only once it
// has received nothing since its last answer and that answer is QUIET_MS old.
const QUIET_MS = Number(process.env.ZDD_QUIET_PERIOD ?? 250);
const sockets = new Map(); // socket -> { busy, lastActive, bytes }
server.on('connection', (socket) => {
  sockets.set(socket, { busy: 0, lastActive: Date.now(), bytes: 0 });
  socket.once('close', () => sockets.delete(socket));
});
server.prependListener('request', (req, res) => {
  const s = sockets.get(req.socket);
  if (!s) return;
  s.busy++;
  res.once('close', () => {
    s.busy--;
    s.lastActive = Date.now();
    s.bytes = req.socket.bytesRead;
  });
});
function closeQuietSockets() {
  const now = Date.now();
  for (const [socket, s] of sockets) {
    // Bytes received since the last answer are a request on its way: not quiet.
    if (s.busy > 0 || s.ending || socket.bytesRead !== s.bytes || now - s.lastActive < QUIET_MS) continue;
    s.ending = true;
    socket.end();
  }
}

let closed = false;
// Under a PM2 cluster the primary process hands connections to workers over IPC. For a moment after
// server.close() it may still hand one to this worker; Node sends such a connection back to the
// primary, but only if this process is still alive. Exiting inside that window strands the
// connection in the primary (the client hangs until its timeout). So a cluster worker leaves with
// cluster.worker.disconnect(): Node asks the primary, which answers only after it has handled the
// close (messages are handled in order), and by then every connection handed over came back.
let exiting = false;
function maybeExit() {
  if (!draining || !closed || inFlight !== 0 || exiting) return;
  exiting = true;
  if (cluster.isWorker && cluster.worker.isConnected()) {
    // PM2's cluster mode writes this process's logs to their files asynchronously: let them finish.
    process.stdout.write('', () => {
      cluster.worker.once('disconnect', () => process.exit(0));
      cluster.worker.disconnect();
    });
  } else {
    process.exit(0);
  }
}

function shutdown(reason) {
  if (draining) return;
  draining = true;
  console.log(`shop backend pid=${process.pid} draining (${reason}), in-flight=${inFlight}`);
  const deadline = setTimeout(
    () => {
      console.error(`shop backend pid=${process.pid} drain deadline hit, in-flight=${inFlight}`);
      process.exit(0);
    },
    Math.max(killTimeout - 1000, 0),
  );
  deadline.unref();
  // net.Server's close: stop accepting (under PM2 this leaves the round-robin) without closing idle
  // keep-alive connections at once, which http.Server's close() does since Node 19.
  const sweeper = setInterval(closeQuietSockets, 50);
  net.Server.prototype.close.call(server, () => {
    clearInterval(sweeper);
    closed = true;
    maybeExit();
  });
  closeQuietSockets();
  maybeExit();
}

process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('message', (msg) => {
  if (msg === 'shutdown') shutdown('message');
});
