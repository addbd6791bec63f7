/**
 * What doctor reads of the app itself, and the tools it boots it with (app-lifecycle.ts): whether
 * the entry file says `ready` and handles SIGINT, which build to boot, raw TCP connections that
 * record FIN or RST, and the `app reload safety` row. These run the app on this machine, so they use
 * Node's own fs and net rather than a Host.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
import { entrySources } from '../init/detect.js';
import { describeMode, readReloadSafety } from '../pm2/reload-safety.js';
import { row, type Check } from './check.js';

/** Warn-only: does the backend entry tell PM2 it is ready and handle SIGINT? */
export function checkAppHandling(config: ZddConfig): Check {
  const name = 'app ready/shutdown';
  const b = config.backend;
  if (!b) return row(name, 'ok', 'no backend');
  const files = entrySources(b.root, b.script);
  if (!files.length) return row(name, 'warn', `${path.join(b.root, b.script)} not found (built at deploy?); could not check`);
  const text = files.map((f) => readFileSync(path.join(b.root, f), 'utf8')).join('\n');
  if (/\breloadSafe\s*\(/.test(text)) return row(name, 'ok', `reloadSafe() (zdd/runtime) in ${files[0]}`);
  const ready = /process\.send\??\.?\(\s*['"`]ready['"`]/.test(text);
  const sigint = /SIGINT/.test(text);
  if (ready && sigint) return row(name, 'ok', `process.send('ready') and a SIGINT handler in ${files[0]}`);
  const missing = [ready ? undefined : "process.send('ready')", sigint ? undefined : 'a SIGINT handler'].filter(Boolean).join(' and ');
  return row(
    name,
    'warn',
    `did not find ${missing} in ${files.join(', ')}`,
    "call process.send?.('ready') once the server listens; on SIGINT, server.close() and exit within backend.killTimeout",
  );
}

/** The release `current` points at, when it holds backend.script: what doctor boots when the working tree has no entry to stage. */
export async function currentRelease(config: ZddConfig, host: Host): Promise<{ cwd: string; script: string; label: string; release: string } | undefined> {
  const b = config.backend!;
  const current = path.join(config.deployTo, 'current');
  const target = await host.readlink(current).catch(() => undefined);
  if (target !== undefined && (await host.stat(path.join(current, 'backend', b.script)))?.type === 'file') {
    const release = path.basename(target);
    return { cwd: path.join(current, 'backend'), script: b.script, label: `release ${release} (current)`, release };
  }
  return undefined;
}

export interface RawConn {
  socket: net.Socket;
  data: string;
  endedAt: number;
  closedAt: number;
  error: string;
}

/** A TCP connection that records what the server does with it: FIN (`endedAt`) or RST (`error`). */
export function rawConnect(port: number, timeoutMs = 3000): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const c: RawConn = { socket, data: '', endedAt: 0, closedAt: 0, error: '' };
    const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (c.data += d));
    socket.on('end', () => (c.endedAt = Date.now()));
    socket.on('close', () => (c.closedAt = Date.now()));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      c.error = e.code ?? e.message;
      clearTimeout(timer);
      reject(e);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(c);
    });
  });
}

/** A whole HTTP/1.1 response in `data` (Content-Length or chunked; otherwise the connection's end). */
export function responseComplete(data: string, ended = false): boolean {
  const i = data.indexOf('\r\n\r\n');
  if (i < 0) return false;
  const head = data.slice(0, i).toLowerCase();
  const body = data.slice(i + 4);
  const len = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (len) return body.length >= Number(len[1]);
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return /(^|\r\n)0\r\n(.*\r\n)*\r\n$/.test(body);
  return ended;
}

/** The status code of a raw HTTP/1.x response (0 when there is none yet). */
export const statusOf = (data: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
/** Does the response say `Connection: close`? */
export const closesAfter = (data: string) => /\r\nconnection:\s*close/i.test(data.slice(0, data.indexOf('\r\n\r\n') + 2));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait until `cond()` holds, at most `ms`; whether it did. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() >= end) return false;
    await sleep(10);
  }
  return true;
}

/** Who makes the app reload-safe, from the line zdd's reload safety printed in the probe. */
export function reloadSafetyRow(on: boolean, output: string): Check {
  if (!on) return row('app reload safety', 'ok', "backend.reloadSafe is off: the app's own code sends ready and drains (the checks below say how well)");
  const { mode, otherPorts } = readReloadSafety(output);
  if (mode) return row('app reload safety', 'ok', describeMode(mode));
  const where = otherPorts.length ? `it listens on port ${otherPorts.join(', ')}, not on PORT` : 'it saw no server listening on PORT';
  return row(
    'app reload safety',
    'fail',
    `zdd's reload safety could not take the app's server over: ${where}`,
    'listen on Number(process.env.PORT); the canary fails the same way',
  );
}
