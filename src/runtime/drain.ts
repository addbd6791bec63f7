/**
 * The drain of one HTTP server (part of zdd/runtime; no dependencies): stop accepting, answer later
 * requests with `Connection: close`, and close a connection only once it has been quiet.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One connection of a draining server, as the drain sees it. */
interface Conn {
  requests: number;
  lastActive: number;
  bytes: number;
  ending: boolean;
}

/** Stops a server from accepting and lets its connections end without cutting a request. */
export interface HttpDrain {
  readonly draining: boolean;
  /** Requests received and not answered yet. */
  inFlight(): number;
  /** Connections taken over by an upgrade (WebSockets): the drain leaves them to their owner. */
  upgraded(): Socket[];
  /** Start draining; resolves once every connection of the server is gone. Idempotent. */
  start(quietMs: number): Promise<void>;
  /** The deadline: destroy every connection left. */
  cut(): void;
}

const DRAIN = Symbol.for('zdd.http-drain');

/** net.Server's close(): stops accepting without http.Server's closeIdleConnections() (Node >= 19). */
function netClose(server: Server): (cb: () => void) => void {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const net = typeof getBuiltin === 'function' ? (getBuiltin('node:net') as { Server: { prototype: Server } }) : undefined;
  // Without getBuiltinModule: the prototype that owns listen() is net.Server's.
  let proto: object | null = net?.Server.prototype ?? Object.getPrototypeOf(server);
  while (proto && !net && !Object.hasOwn(proto, 'listen')) proto = Object.getPrototypeOf(proto);
  const close = (proto as Server | null)?.close ?? server.close;
  return (cb) => close.call(server, cb);
}

/**
 * The drain of `server`, one per server (shared by every copy of this code in the process). Call it
 * before the server takes connections: it counts requests per connection from then on.
 */
export function httpDrain(server: Server): HttpDrain {
  const own = (server as unknown as Record<symbol, HttpDrain | undefined>)[DRAIN];
  if (own) return own;
  const conns = new Map<Socket, Conn>();
  const open = new Set<ServerResponse>();
  let draining = false;
  let finished: Promise<void> | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  const track = (socket: Socket): Conn => {
    let c = conns.get(socket);
    if (!c) {
      c = { requests: 0, lastActive: Date.now(), bytes: socket.bytesRead ?? 0, ending: false };
      conns.set(socket, c);
      socket.once('close', () => conns.delete(socket));
    }
    return c;
  };
  const closeAfter = (res: ServerResponse) => {
    if (res.headersSent) return; // a keep-alive answer already on its way: the sweep closes the connection
    res.setHeader('Connection', 'close');
    res.shouldKeepAlive = false;
  };
  // An HTTPS server's 'connection' is the raw TCP socket under the TLS one: track the TLS sockets.
  const tls = typeof (server as { setSecureContext?: unknown }).setSecureContext === 'function';
  server.prependListener(tls ? 'secureConnection' : 'connection', (socket: Socket) => void track(socket));
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const c = track(req.socket);
    c.requests++;
    c.lastActive = Date.now();
    open.add(res);
    if (draining) closeAfter(res);
    res.once('close', () => {
      open.delete(res);
      c.requests--;
      c.lastActive = Date.now();
      c.bytes = req.socket.bytesRead ?? 0;
    });
  });
  // Node's own list of the server's connections knows which ones are reading a request right now
  // (it is set up when the server starts listening: looked up when needed).
  const readingNone = (): Set<unknown> | undefined => {
    const listKey = Object.getOwnPropertySymbols(server).find((k) => k.description === 'http.server.connections');
    try {
      const list = listKey && (server as unknown as Record<symbol, { idle(): { socket: unknown }[] }>)[listKey];
      return list ? new Set(list.idle().map((p) => p.socket)) : undefined;
    } catch {
      return undefined;
    }
  };
  /**
   * Close (FIN) every connection that is quiet: no request in flight, no byte received since its last
   * answer (that would be a request on its way), none being read, and quietMs since it was last used.
   */
  const sweep = (quietMs: number) => {
    const now = Date.now();
    const idle = readingNone();
    for (const [socket, c] of conns) {
      const parser = (socket as { parser?: unknown }).parser;
      if (c.ending || socket.destroyed || c.requests > 0 || !parser) continue; // !parser: upgraded
      if ((idle && !idle.has(socket)) || (socket.bytesRead ?? 0) !== c.bytes || now - c.lastActive < quietMs) continue;
      c.ending = true;
      socket.end();
    }
  };
  const drain: HttpDrain = {
    get draining() {
      return draining;
    },
    inFlight: () => open.size,
    upgraded: () => [...conns.keys()].filter((s) => !s.destroyed && !(s as { parser?: unknown }).parser),
    start(quietMs) {
      if (finished) return finished;
      draining = true;
      for (const res of open) closeAfter(res);
      finished = new Promise<void>((resolve) =>
        netClose(server)(() => {
          clearInterval(sweeper);
          resolve();
        }),
      );
      sweep(quietMs);
      sweeper = setInterval(() => sweep(quietMs), Math.max(5, Math.min(50, quietMs / 4)));
      return finished;
    },
    cut() {
      clearInterval(sweeper);
      const proto = Object.getPrototypeOf(server) as Partial<Server>;
      proto.closeAllConnections?.call(server);
      for (const socket of conns.keys()) socket.destroy();
    },
  };
  (server as unknown as Record<symbol, HttpDrain>)[DRAIN] = drain;
  return drain;
}
