// Example backend with WebSockets for zdd: plain node:http plus `ws`, made reload-safe by
// reload-safe.mjs (the file `zdd init` offers; the same code as `import { reloadSafe } from 'zdd/runtime'`).
// During a deploy every WebSocket client of an old worker is closed with 1001 ("going away") and
// reconnects, through Nginx, to a worker of the new release.
import fs from 'node:fs';
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { reloadSafe } from './reload-safe.mjs';

const { version } = JSON.parse(fs.readFileSync(new URL('./version.json', import.meta.url), 'utf8'));
const port = Number(process.env.PORT ?? 3001);
const release = process.env.ZDD_RELEASE ?? null;
const MAX_SLOW_MS = 60_000;

function send(res, status, body) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-store',
  });
  res.end(payload);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  switch (url.pathname) {
    case '/healthz':
      // 503 while draining: a load balancer stops sending here; zdd's canary waits for 2xx.
      return life.isDraining() ? send(res, 503, 'draining') : send(res, 200, 'ok');
    case '/api/version':
      return send(res, 200, { version, release, pid: process.pid });
    case '/api/echo': {
      // A write (POST): answers with the number of bytes it received.
      let bytes = 0;
      req.on('data', (c) => (bytes += c.length));
      req.on('end', () => send(res, 200, { version, release, bytes }));
      return;
    }
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
// Longer than Nginx's upstream keepalive_timeout (60s): Nginx always closes an idle connection first.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'hello', version, release, pid: process.pid }));
  ws.on('message', (data) => ws.send(JSON.stringify({ type: 'echo', data: String(data), version })));
});

server.listen(port, '127.0.0.1', () => {
  console.log(`chat backend ${version} (release ${release}) on http://127.0.0.1:${port} pid=${process.pid}`);
});

// ready after listen; on SIGINT: 503 on /healthz, close, drain, 1001 to WebSocket clients, exit.
const life = reloadSafe(server, {
  webSocketServer: wss,
  onShutdown: () => console.log(`chat backend pid=${process.pid} closed`),
});
