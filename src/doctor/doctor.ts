/**
 * `zdd doctor`: checks the machine and the project and prints one ✓ / ! / ✗ row per check, with a
 * fix under every ✗. Exit 1 when any check fails, 0 otherwise. It creates no folder, starts no
 * daemon and changes no config; the one thing it runs is the app itself, once, on a spare port (as
 * the canary does), to see it get ready, answer its health check and drain on SIGINT.
 */
import { accessSync, constants, existsSync, promises as fs, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { findConfig, loadConfig } from '../config/load.js';
import type { ZddConfig } from '../config/schema.js';
import { ConfigError, type ZddError } from '../core/errors.js';
import { LocalHost, tail } from '../host/local.js';
import type { Host } from '../host/types.js';
import { entrySources } from '../init/detect.js';
import { packagePath } from '../core/package-root.js';
import { describeMode, readReloadSafety, RELOAD_SAFETY_FILE } from '../pm2/reload-safety.js';
import type { Fleet } from '../deploy/hosts.js';
import type { Reporter } from '../output/reporter.js';
import type { CommandIO, CommandResult, GlobalOptions } from '../commands/common.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  ok: boolean;
  level: CheckLevel;
  detail: string;
  fix?: string;
}

const MIN_NODE = [20, 19, 0] as const;

function row(name: string, level: CheckLevel, detail: string, fix?: string): Check {
  return { name, ok: level !== 'fail', level, detail, ...(fix ? { fix } : {}) };
}

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version
    .replace(/^v/, '')
    .split('.')
    .map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

function lastLines(text: string, n = 3): string {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}

export function checkNode(version = process.versions.node): Check {
  return versionAtLeast(version, MIN_NODE)
    ? row('node', 'ok', `v${version}`)
    : row(
        'node',
        'fail',
        `v${version}; zdd needs ${MIN_NODE.join('.')} or newer`,
        'install Node.js 20.19+ (e.g. `nvm install 22`, or the NodeSource/nodejs.org packages)',
      );
}

/** The first executable `name` on PATH, as a shell would find it. */
export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The version in the nearest package.json named `pkgName` at or above `file` (after symlinks). */
function packageVersionOf(file: string, pkgName: string): string | undefined {
  let dir: string;
  try {
    dir = path.dirname(realpathSync(file));
  } catch {
    return undefined;
  }
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const j = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (j.name === pkgName) return j.version;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * pm2 on PATH, else the one zdd depends on. The version is read from pm2's package.json rather than
 * `pm2 --version`: that command spawns a PM2 daemon when none runs, and doctor must not start one.
 */
export function checkPm2(required: boolean, envPath = process.env.PATH ?? ''): Check {
  const onPath = findOnPath('pm2', envPath);
  if (onPath) {
    const v = packageVersionOf(onPath, 'pm2');
    return row('pm2', 'ok', `${v ? `v${v}` : 'version unknown'} (${onPath})`);
  }
  try {
    const pj = createRequire(import.meta.url).resolve('pm2/package.json');
    const v = (JSON.parse(readFileSync(pj, 'utf8')) as { version?: string }).version;
    return row('pm2', 'ok', `v${v ?? '?'} (zdd's own: ${path.dirname(pj)})`);
  } catch {
    /* not installed */
  }
  const fix = 'npm install -g pm2 (or add zdd to the project with npm install -D zdd, which brings pm2)';
  return required ? row('pm2', 'fail', 'not found on PATH nor next to zdd', fix) : row('pm2', 'warn', 'not found (needed only with a backend)', fix);
}

/** The nginx binary the config's test command names, if it names one by path (`/opt/nginx/sbin/nginx -t`). */
function nginxBinary(config: ZddConfig | undefined): string {
  const words = (config?.nginx?.test ?? '').trim().split(/\s+/);
  const first = words[0] === 'sudo' ? words.find((w, i) => i > 0 && !w.startsWith('-')) : words[0];
  return first && path.isAbsolute(first) && path.basename(first) === 'nginx' ? first : 'nginx';
}

export async function checkNginx(host: Host, required: boolean, bin = 'nginx'): Promise<Check> {
  const r = await host.exec([bin, '-v'], { reject: false, readOnly: true, timeoutMs: 10_000 }).catch(() => undefined);
  const text = r ? `${r.stderr}\n${r.stdout}` : '';
  const m = /nginx\/(\S+)/.exec(text);
  if (r && r.exitCode === 0 && m) return row('nginx', 'ok', `v${m[1]}${bin !== 'nginx' ? ` (${bin})` : ''}`);
  const fix =
    'install it: sudo apt-get install nginx (Debian/Ubuntu), sudo dnf install nginx (Fedora/RHEL), brew install nginx (macOS); ' +
    'if it is installed in /usr/sbin, add that folder to PATH';
  const detail =
    r && r.exitCode !== 0 && !/ENOENT|not found/i.test(text) && text.trim() ? `\`${bin} -v\` failed: ${lastLines(text, 1)}` : `\`${bin}\` not found on PATH`;
  return required ? row('nginx', 'fail', detail, fix) : row('nginx', 'warn', `${detail} (not needed: the config has no nginx section)`);
}

export async function checkConfigLoads(
  opts: GlobalOptions,
  cwd: string,
  onSecrets?: (values: string[]) => void,
): Promise<{ check: Check; config?: ZddConfig }> {
  if (!opts.config && !findConfig(cwd)) {
    return { check: row('config', 'fail', `no zdd.config.{ts,mts,js,mjs,json} in ${cwd}`, 'run zdd init') };
  }
  try {
    const config = await loadConfig({ configPath: opts.config, cwd });
    onSecrets?.(Object.values(config.backend?.env ?? {}));
    return { check: row('config', 'ok', `${path.relative(cwd, config.configPath) || config.configPath} (app ${config.app})`), config };
  } catch (err) {
    if (err instanceof ConfigError) {
      const missing = err.problems.some((p) => /not found|no zdd config/i.test(p));
      return {
        check: row(
          'config',
          'fail',
          err.problems.join('; '),
          missing ? 'check --config, or run zdd init' : (err.hint ?? 'fix the keys listed, see the config reference in the README'),
        ),
      };
    }
    return { check: row('config', 'fail', `could not load: ${(err as Error).message}`, 'fix the error in the config file') };
  }
}

/** Write access to deployTo, or to the nearest existing parent when it does not exist yet. Creates nothing. */
export async function checkDeployTo(config: ZddConfig): Promise<Check> {
  const name = 'deployTo';
  const target = config.deployTo;
  if (config.hosts?.length) return row(name, 'warn', `${target} is on the remote hosts; not checked from here`);
  if (!path.isAbsolute(target)) return row(name, 'fail', `"${target}" is not an absolute path`, `set deployTo to an absolute path, e.g. /srv/${config.app}`);
  let probe = target;
  for (;;) {
    try {
      const st = await fs.stat(probe);
      if (!st.isDirectory()) {
        return row(name, 'fail', `${probe} exists and is not a folder`, `move ${probe} away or choose another deployTo`);
      }
      break;
    } catch {
      const up = path.dirname(probe);
      if (up === probe) break;
      probe = up;
    }
  }
  const fix = `sudo mkdir -p ${target} && sudo chown "$(id -un)" ${target}`;
  try {
    await fs.access(probe, constants.W_OK);
  } catch {
    return row(
      name,
      'fail',
      probe === target ? `${target} is not writable by this user` : `${target} does not exist and ${probe} is not writable by this user`,
      fix,
    );
  }
  return row(name, 'ok', probe === target ? `${target} is writable` : `${target} does not exist yet; ${probe} is writable, zdd will create it`);
}

export async function checkNginxTest(host: Host, test: string): Promise<Check> {
  const r = await host.shell(test, { reject: false, readOnly: true, timeoutMs: 30_000 }).catch((e: Error) => ({ exitCode: 127, all: e.message }));
  if (r.exitCode === 0) return row('nginx test', 'ok', `\`${test}\` passes`);
  return row(
    'nginx test',
    'fail',
    `\`${test}\` exited with ${r.exitCode}: ${lastLines(r.all) || 'no output'}`,
    'fix the Nginx config it reports; if it fails on permissions, set nginx.test to `sudo nginx -t` (and reload to `sudo nginx -s reload`)',
  );
}

/** An `open_file_cache` directive that is not `off`, in an `nginx -T` dump (comments ignored). */
export function findOpenFileCache(dump: string): string | undefined {
  for (const raw of dump.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (/^open_file_cache\s+/.test(line) && !/^open_file_cache\s+off\s*;/.test(line)) return line;
  }
  return undefined;
}

/**
 * The Nginx config as zdd's deploy reads it (src/nginx/config.ts): the files in `nginx.config` when set,
 * else the dump of `<nginx.test> -T`.
 */
export async function checkOpenFileCache(host: Host, config: ZddConfig): Promise<Check> {
  const name = 'open_file_cache';
  const n = config.nginx!;
  let text: string | undefined;
  let source: string;
  if (n.config.length) {
    source = n.config.join(', ');
    const parts = await Promise.all(n.config.map((f) => host.readFile(path.resolve(config.projectDir, f)).catch(() => undefined)));
    if (parts.some((p) => p === undefined)) return row(name, 'warn', `cannot read every file of nginx.config (${source})`, 'check the paths in nginx.config');
    text = parts.join('\n');
  } else {
    source = `${n.test} -T`;
    if (!/\bnginx\b/.test(n.test)) return row(name, 'warn', `cannot derive a config dump from \`${n.test}\`; list the files in nginx.config`);
    const r = await host.shell(source, { reject: false, readOnly: true, timeoutMs: 30_000 }).catch(() => undefined);
    if (r?.exitCode !== 0) return row(name, 'warn', `could not read the Nginx config with \`${source}\``);
    text = r.stdout;
  }
  const found = findOpenFileCache(text);
  if (!found) return row(name, 'ok', 'off: a switch of current needs no Nginx reload');
  return row(
    name,
    'warn',
    `\`${found}\` in ${source}: zdd has to reload Nginx on every deploy (a reload drops idle keep-alive connections)`,
    "put `open_file_cache off;` in the app's server block (zdd init writes it) or remove it from the http block",
  );
}

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

/** After server.close(), how long a cluster worker that does not leave the cluster should stay alive. */
const HANDOFF_WINDOW_MS = 1000;

/**
 * A Node cluster primary standing in for PM2's (`node --input-type=module -e PROBE <script>`): it runs
 * the app as one cluster worker, as PM2's cluster mode does, so connections reach it through the
 * primary's round-robin. It relays IPC messages both ways and SIGINT/SIGTERM to the worker, SIGKILLs
 * the worker at ZDD_KILL_TIMEOUT as PM2 would, says 'zdd:left-cluster' when the worker left the
 * cluster itself (cluster.worker.disconnect(): the primary confirmed it stopped handing it
 * connections), and ends as the worker ended (same code, or the same signal).
 */
const CLUSTER_PROBE = `
import cluster from 'node:cluster';
const script = process.argv[process.argv.length - 1];
const killTimeout = Number(process.env.ZDD_KILL_TIMEOUT) || 1600;
const preload = process.env.ZDD_PROBE_REQUIRE;
cluster.setupPrimary({ exec: script, execArgv: preload ? ['--require', preload] : [], args: [], silent: false });
const worker = cluster.fork();
worker.on('message', (m) => { if (process.connected) process.send(m); });
process.on('message', (m) => { try { worker.send(m); } catch {} });
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => {
  if (stopping) return;
  stopping = true;
  worker.process.kill(sig);
  setTimeout(() => worker.process.kill('SIGKILL'), killTimeout).unref();
});
process.on('disconnect', () => { worker.process.kill('SIGKILL'); process.exit(1); });
let left = false;
worker.on('disconnect', () => { left = worker.exitedAfterDisconnect === true; });
worker.on('exit', (code, signal) => {
  const end = () => {
    if (!signal) process.exit(code ?? 0);
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.kill(process.pid, signal);
  };
  if (left && process.connected) process.send('zdd:left-cluster', end);
  else end();
});
`;

/** What doctor boots: the release `current` points at, else the working tree's backend. */
export async function appUnderTest(config: ZddConfig, host: Host): Promise<{ cwd: string; script: string; label: string; release: string } | undefined> {
  const b = config.backend!;
  const current = path.join(config.deployTo, 'current');
  const target = await host.readlink(current).catch(() => undefined);
  if (target !== undefined && (await host.stat(path.join(current, 'backend', b.script)))?.type === 'file') {
    const release = path.basename(target);
    return { cwd: path.join(current, 'backend'), script: b.script, label: `release ${release} (current)`, release };
  }
  if ((await host.stat(path.join(b.root, b.script)))?.type === 'file') return { cwd: b.root, script: b.script, label: 'the working tree', release: 'doctor' };
  return undefined;
}

interface RawConn {
  socket: net.Socket;
  data: string;
  endedAt: number;
  closedAt: number;
  error: string;
}

/** A TCP connection that records what the server does with it: FIN (`endedAt`) or RST (`error`). */
function rawConnect(port: number, timeoutMs = 3000): Promise<RawConn> {
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

const statusOf = (data: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
const closesAfter = (data: string) => /\r\nconnection:\s*close/i.test(data.slice(0, data.indexOf('\r\n\r\n') + 2));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() >= end) return false;
    await sleep(10);
  }
  return true;
}

/** Who makes the app reload-safe, from the line zdd's reload safety printed in the probe. */
function reloadSafetyRow(on: boolean, output: string): Check {
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

/**
 * Boot the app as PM2's cluster mode runs it (a cluster worker of a stand-in primary, CLUSTER_PROBE;
 * IPC, free PORT, the app's env) and check what PM2 relies on:
 * `ready` and the health check; then, with an idle keep-alive connection open and a request whose
 * headers are not finished yet, send SIGINT, finish the request, and see whether it is answered,
 * how the idle connection is closed (FIN or RST) and how long the exit takes against killTimeout.
 */
export async function checkAppLifecycle(config: ZddConfig, host: Host = new LocalHost()): Promise<Check[]> {
  const b = config.backend;
  if (!b) return [];
  if (config.hosts?.length) return [row('app boot', 'warn', 'the app runs on the remote hosts; not booted from here')];
  const app = await appUnderTest(config, host);
  if (!app) {
    return [
      row(
        'app boot',
        'warn',
        `${path.join(b.root, b.script)} not found and no current release (built at deploy?); could not boot the app`,
        b.build ? `run \`${b.build}\` in ${b.root}, then zdd doctor again` : undefined,
      ),
    ];
  }
  const waitReady = b.waitReady;
  const hpath = config.healthcheck.path;
  const port = await host.freePort();
  const proc = host.spawn([process.execPath, '--input-type=module', '-e', CLUSTER_PROBE, path.join(app.cwd, app.script)], {
    cwd: app.cwd,
    ipc: true,
    env: {
      ...b.env,
      PORT: String(port),
      ZDD_RELEASE: app.release,
      ZDD_DOCTOR: '1',
      ZDD_KILL_TIMEOUT: String(b.killTimeout),
      // As PM2 starts it: with zdd's reload safety (the copy this zdd ships), unless backend.reloadSafe is false.
      ...(b.reloadSafe ? { ZDD_PROBE_REQUIRE: packagePath('dist', 'runtime', RELOAD_SAFETY_FILE) } : {}),
    },
  });
  const startedAt = Date.now();
  let readyAt = 0;
  void proc.waitForMessage('ready').then(() => (readyAt = Date.now()));
  let leftCluster = false;
  void proc.waitForMessage('zdd:left-cluster').then(() => (leftCluster = true));
  let exit: { code: number | null; signal: string | null; at: number } | undefined;
  void proc.exited.then((e) => (exit = { ...e, at: Date.now() }));
  // For a one-line row: the error line of a crash (stack frames say little), else the last lines.
  const out = () => {
    const lines = tail(proc.output())
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const err = lines.filter((l) => /^[\w.$]*(Error|Exception)\b[^\n]*:/.test(l)).pop();
    return err ?? lines.slice(-3).join(' | ');
  };
  const rows: Check[] = [];
  const conns: RawConn[] = [];
  try {
    // 1. ready and the health check, as the canary would see them.
    const bootBy = startedAt + Math.max(b.readyTimeout, config.healthcheck.timeout);
    let health = 0;
    let last = 'no answer';
    while (!exit && Date.now() < bootBy) {
      try {
        const r = await host.httpGet(`http://127.0.0.1:${port}${hpath}`, Math.max(500, Math.min(5000, bootBy - Date.now())));
        last = `answered ${r.status}`;
        if (r.status >= 200 && r.status < 300) {
          health = r.status;
          break;
        }
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(200);
    }
    if (health) await until(() => readyAt > 0 || exit !== undefined, Math.max(0, startedAt + b.readyTimeout - Date.now()));
    const booted = `booted ${app.label}`;
    if (exit) {
      rows.push(
        row(
          'app boot',
          'fail',
          `${booted}: it exited (${exit.signal ?? `code ${exit.code}`}) before answering ${hpath}: ${out() || 'no output'}`,
          'fix the error it prints; the canary would fail the same way',
        ),
      );
      return rows;
    }
    if (!health) {
      rows.push(
        row(
          'app boot',
          'fail',
          `${booted}: ${hpath} did not answer 2xx within ${bootBy - startedAt} ms (${last})`,
          `make ${hpath} answer 2xx once the app can serve, or set healthcheck.path`,
        ),
      );
      return rows;
    }
    const readyText = readyAt ? `sent 'ready' after ${readyAt - startedAt} ms` : `never sent 'ready' within backend.readyTimeout (${b.readyTimeout} ms)`;
    if (!readyAt && waitReady) {
      rows.push(
        row(
          'app boot',
          'fail',
          `${booted}: ${hpath} answered ${health}, but the app ${readyText}; PM2 would wait readyTimeout per worker and then swap it in anyway, and the canary fails the deploy`,
          "call process.send?.('ready') once the server listens (reloadSafe() from zdd/runtime does it), or set backend.waitReady: false",
        ),
      );
    } else {
      rows.push(row('app boot', 'ok', `${booted}: ${readyText}, ${hpath} answered ${health}`));
    }
    rows.push(reloadSafetyRow(b.reloadSafe, proc.output()));

    // 2. An idle keep-alive connection, and a request in flight (headers not finished) at SIGINT.
    const idle = await rawConnect(port);
    conns.push(idle);
    idle.socket.write(`GET ${hpath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nUser-Agent: zdd-doctor\r\n\r\n`);
    await until(() => responseComplete(idle.data, idle.endedAt > 0) || idle.closedAt > 0, 5000);
    const idleUsable = responseComplete(idle.data) && !closesAfter(idle.data) && !idle.closedAt;
    const inflight = await rawConnect(port);
    conns.push(inflight);
    inflight.socket.write(`GET ${hpath} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: zdd-doctor\r\n`);
    await sleep(150);

    const t0 = Date.now();
    const kill = b.killTimeout;
    // SIGINT as PM2 sends it on a reload; SIGKILL where PM2 would (killTimeout), plus a little to measure.
    const stopped = proc.stop(kill + 500);
    await until(() => exit !== undefined, 300);
    inflight.socket.write('\r\n');
    await until(() => responseComplete(inflight.data, inflight.endedAt > 0) || inflight.closedAt > 0, kill + 1000);
    const answeredAt = responseComplete(inflight.data, inflight.endedAt > 0) ? Date.now() : 0;
    await stopped;
    await until(() => idle.closedAt > 0 && inflight.closedAt > 0, 200);
    const e = exit ?? { code: null, signal: null, at: Date.now() };
    const took = e.at - t0;
    const fixHandler =
      'handle SIGINT: stop accepting (server.close()), finish requests in flight, close keep-alive and WebSocket connections, then exit before backend.killTimeout — reloadSafe() from zdd/runtime does all of it (README: Make your app reload-safe)';

    // The request in flight.
    if (e.signal === 'SIGINT') {
      rows.push(
        row(
          'app SIGINT',
          'fail',
          `no SIGINT handler: the app died at once on SIGINT (${took} ms); PM2 sends SIGINT to the old worker on every reload, so requests in flight are cut`,
          fixHandler,
        ),
      );
    } else if (responseComplete(inflight.data, inflight.endedAt > 0)) {
      const st = statusOf(inflight.data);
      const close = closesAfter(inflight.data);
      rows.push(
        close
          ? row('app SIGINT', 'ok', `a request in flight at SIGINT was answered (${st}) with Connection: close`)
          : row(
              'app SIGINT',
              'warn',
              `a request in flight at SIGINT was answered (${st}) but without Connection: close; Nginx may send the next request on a connection that is closing`,
              'answer with Connection: close while draining (reloadSafe() does)',
            ),
      );
    } else {
      const how = inflight.error ? `reset (${inflight.error})` : inflight.closedAt ? 'closed' : 'left hanging';
      rows.push(
        row(
          'app SIGINT',
          'fail',
          `a request in flight at SIGINT got no answer: the connection was ${how}${inflight.data ? ` after ${JSON.stringify(inflight.data.slice(0, 60))}` : ''}`,
          fixHandler,
        ),
      );
    }

    // The idle keep-alive connection. (When the process dies, the kernel closes its sockets with FIN
    // too: a close within a few ms of the exit is the exit's, not the app's.)
    const byExit = (at: number) => at > 0 && e.at - at < 30;
    if (e.signal === 'SIGINT') {
      /* it died: nothing closed anything cleanly */
    } else if (!idleUsable) {
      rows.push(row('app keep-alive', 'warn', `not checked: the app closed the connection after its first answer (no keep-alive)`));
    } else if (idle.error) {
      rows.push(
        row(
          'app keep-alive',
          'warn',
          `the idle keep-alive connection was reset (${idle.error}), not closed with FIN`,
          'close a keep-alive connection only once it has been quiet, with socket.end(), never by destroying a socket that may hold a request (reloadSafe() does)',
        ),
      );
    } else if (idle.endedAt && idle.endedAt - t0 <= 500 && !byExit(idle.endedAt)) {
      rows.push(
        row(
          'app keep-alive',
          'ok',
          `the idle keep-alive connection was closed cleanly (FIN) ${Math.max(0, idle.endedAt - t0)} ms after SIGINT, once it had been quiet`,
        ),
      );
    } else if (idle.endedAt || idle.closedAt) {
      const at = (idle.endedAt || idle.closedAt) - t0;
      rows.push(
        row(
          'app keep-alive',
          'warn',
          `the idle keep-alive connection stayed open ${at} ms after SIGINT${byExit(idle.endedAt || idle.closedAt) ? ', until the process exited' : ''}`,
          'close an idle keep-alive connection on SIGINT once it has been quiet for a moment (reloadSafe() does; leave backend.reloadSafe on and zdd does it)',
        ),
      );
    } else {
      rows.push(row('app keep-alive', 'warn', 'the idle keep-alive connection was still open after the app stopped'));
    }

    // The exit.
    const sigkill = e.signal === 'SIGKILL' || took > kill;
    if (e.signal === 'SIGINT') {
      /* reported above */
    } else {
      // Why it took long: a keep-alive connection left open after its last answer keeps server.close() waiting.
      const openFor = answeredAt && !closesAfter(inflight.data) ? (inflight.closedAt || e.at) - answeredAt : 0;
      const heldOpen =
        openFor > 1000 && took > HANDOFF_WINDOW_MS + 500
          ? `the connection of the request in flight was kept alive after its answer and stayed open ${openFor} ms${byExit(inflight.closedAt) || !inflight.closedAt ? ', until the exit' : ''} (server.close() waits for it)`
          : undefined;
      if (sigkill) {
        rows.push(
          row(
            'app exit',
            'fail',
            `the app did not exit within backend.killTimeout (${kill} ms) after SIGINT: PM2 SIGKILLs it, cutting whatever is still open${heldOpen ? ` (${heldOpen})` : ''}`,
            fixHandler,
          ),
        );
        return rows;
      }
      const notes: string[] = [];
      const fixes: string[] = [];
      if (heldOpen) {
        notes.push(heldOpen);
        fixes.push('answer with Connection: close while draining');
      }
      if (!leftCluster && took < HANDOFF_WINDOW_MS - 100) {
        notes.push(
          `it did not leave the cluster first: for a moment after server.close() the PM2 primary may still hand this worker a connection, which is stranded if the worker is gone`,
        );
        fixes.push("leave with cluster.worker.disconnect() and exit on its 'disconnect' event (or stay alive about a second after server.close())");
      }
      if (took > kill * 0.8) {
        notes.push('close to backend.killTimeout');
        fixes.push('exit well before backend.killTimeout (or raise it)');
      }
      if (e.code !== 0) {
        notes.push(`exit code ${e.code}`);
        fixes.push('exit 0 after a clean drain');
      }
      rows.push(
        row(
          'app exit',
          notes.length ? 'warn' : 'ok',
          `exited ${e.code === 0 ? '0 ' : ''}${took} ms after SIGINT${leftCluster ? ', after leaving the cluster' : ''} (backend.killTimeout ${kill} ms)${notes.length ? `: ${notes.join('; ')}` : ''}`,
          fixes.length ? `${fixes.join('; ')} (reloadSafe() from zdd/runtime does it)` : undefined,
        ),
      );
    }
    return rows;
  } catch (err) {
    rows.push(row('app boot', 'fail', `could not check the app: ${(err as Error).message}; ${out()}`));
    return rows;
  } finally {
    for (const c of conns) c.socket.destroy();
    await proc.stop(1000);
  }
}

/** Source files of the backend (not node_modules, not build output), at most `max`. */
function backendSources(root: string, max = 400): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (out.length >= max || depth > 6) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'dist' || e.name === 'build' || e.name === 'coverage') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (/\.(c|m)?(j|t)sx?$/.test(e.name) && !/\.d\.ts$/.test(e.name)) out.push(p);
      if (out.length >= max) return;
    }
  };
  walk(root, 0);
  return out;
}

/** Session middlewares whose default store is in the process's memory. */
const MEMORY_SESSION_PACKAGES = ['express-session', '@fastify/session', 'fastify-session'];

/**
 * Warn about sessions kept in memory: every reload replaces the process, so every user is logged
 * out on every deploy (and each PM2 instance has sessions of its own). Reads the backend's
 * package.json dependencies and its source: a session middleware without a `store` option.
 */
export function checkSessionStore(config: ZddConfig): Check {
  const name = 'sessions';
  const b = config.backend;
  if (!b) return row(name, 'ok', 'no backend');
  let deps: Record<string, unknown> = {};
  try {
    deps = (JSON.parse(readFileSync(path.join(b.root, 'package.json'), 'utf8')) as { dependencies?: Record<string, unknown> }).dependencies ?? {};
  } catch {
    /* no package.json: look at the source only */
  }
  const used = MEMORY_SESSION_PACKAGES.filter((p) => p in deps);
  const files = backendSources(b.root);
  const suspects: string[] = [];
  const named = new Set<string>();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const pkg = MEMORY_SESSION_PACKAGES.find((p) => text.includes(`'${p}'`) || text.includes(`"${p}"`));
    if (!pkg) continue;
    named.add(pkg);
    // A `store` option (store: x, or shorthand { store }) that is not a MemoryStore.
    const hasStore = /\bstore\s*[:,}]/.test(text) && !/\bstore\s*:\s*new\s+(session\.)?MemoryStore\b/.test(text);
    if (!hasStore) suspects.push(path.relative(config.projectDir, f));
  }
  const fix = 'give the session middleware a shared store (Redis: connect-redis, PostgreSQL: connect-pg-simple, …) or use signed cookies';
  if (suspects.length) {
    return row(
      name,
      'warn',
      `${[...named].join(', ')} used without a store in ${suspects.slice(0, 3).join(', ')}: sessions live in the process's memory, so every reload logs every user out and each PM2 instance has its own`,
      fix,
    );
  }
  if (used.length && !named.size) return row(name, 'warn', `${used.join(', ')} in dependencies; could not find where it is set up to check its store`, fix);
  if (named.size) return row(name, 'ok', `${[...named].join(', ')} with a store`);
  return row(name, 'ok', 'no in-memory session middleware found');
}

/**
 * With `hosts`: what each host needs, checked over SSH — the connection (host key, key), Node, PM2,
 * rsync, write access to its deployTo, and its Nginx test. Reads only.
 */
export async function checkHosts(config: ZddConfig, out: Reporter): Promise<Check[]> {
  let fleet: Fleet;
  try {
    const { connectFleet } = await import('../deploy/hosts.js');
    fleet = await connectFleet(config, out);
  } catch (err) {
    return [row('ssh', 'fail', (err as Error).message, (err as ZddError).hint)];
  }
  try {
    const checks: Check[] = [];
    for (const [i, h] of fleet.hosts.entries()) {
      const c = fleet.entries[i]!.config;
      const run = (argv: string[]) => h.exec(argv, { reject: false, readOnly: true }).catch((e: Error) => ({ exitCode: -1, stdout: '', all: e.message }));
      const node = await run(['node', '--version']);
      checks.push(
        row(
          `${h.name} node`,
          node.exitCode === 0 ? 'ok' : 'fail',
          node.exitCode === 0 ? node.stdout.trim() : 'node not found on the PATH of a non-interactive SSH session',
          node.exitCode === 0 ? undefined : 'install Node ≥ 20.19 there, or set hosts[].env.PATH',
        ),
      );
      const tool = async (name: string, needed: boolean, fix: string) => {
        const r = await run(['sh', '-c', `command -v ${name}`]);
        if (r.exitCode === 0) return row(`${h.name} ${name}`, 'ok', r.stdout.trim());
        return row(`${h.name} ${name}`, needed ? 'fail' : 'warn', `${name} not found on the host's PATH`, fix);
      };
      checks.push(await tool('rsync', true, 'apt-get install rsync (there)'));
      if (config.backend) checks.push(await tool('pm2', true, 'npm install -g pm2 (there), or set hosts[].env.PATH'));
      // The deploy root, or the nearest folder above it that exists, must be writable.
      const w = await run(['sh', '-c', 'd=$1; while [ ! -e "$d" ]; do d=$(dirname "$d"); done; test -d "$d" -a -w "$d" && echo "$d"', 'sh', c.deployTo]);
      checks.push(
        row(
          `${h.name} deployTo`,
          w.exitCode === 0 ? 'ok' : 'fail',
          w.exitCode === 0 ? `${c.deployTo} (writable: ${w.stdout.trim()})` : `cannot write ${c.deployTo} or a folder above it`,
          w.exitCode === 0 ? undefined : `create it and give the SSH user write access: mkdir -p ${c.deployTo}`,
        ),
      );
      if (config.nginx) {
        const t = await h.shell(config.nginx.test, { reject: false, readOnly: true }).catch((e: Error) => ({ exitCode: -1, all: e.message }));
        checks.push(
          row(
            `${h.name} nginx test`,
            t.exitCode === 0 ? 'ok' : 'fail',
            t.exitCode === 0 ? `\`${config.nginx.test}\` passes` : `\`${config.nginx.test}\` failed: ${lastLines(t.all)}`,
          ),
        );
      }
    }
    return checks;
  } finally {
    await fleet.close();
  }
}

export async function runChecks(
  opts: GlobalOptions,
  cwd: string,
  host: Host = new LocalHost(),
  onSecrets?: (values: string[]) => void,
  out?: Reporter,
): Promise<Check[]> {
  const { check: configCheck, config } = await checkConfigLoads(opts, cwd, onSecrets);
  const checks: Check[] = [checkNode(), configCheck];
  if (config?.hosts && out) {
    // The target's checks run on every host; the app's own checks (ready, drain) run here.
    checks.push(...(await checkHosts(config, out)));
    checks.push(checkAppHandling(config));
    if (config.backend) {
      checks.push(...(await checkAppLifecycle(config, host)));
      checks.push(checkSessionStore(config));
    }
    return checks;
  }
  // Without a loaded config we cannot tell what is needed: ask for everything.
  checks.push(checkPm2(config ? Boolean(config.backend) : true));
  const nginx = await checkNginx(host, config ? Boolean(config.nginx) : false, nginxBinary(config));
  checks.push(nginx);
  if (config) {
    checks.push(await checkDeployTo(config));
    if (config.nginx && nginx.level === 'fail') {
      checks.push(row('nginx test', 'fail', `\`${config.nginx.test}\` not run: nginx is not available`, 'install nginx first (see above)'));
    } else if (config.nginx) {
      checks.push(await checkNginxTest(host, config.nginx.test));
      checks.push(await checkOpenFileCache(host, config));
    }
    checks.push(checkAppHandling(config));
    if (config.backend) {
      checks.push(...(await checkAppLifecycle(config, host)));
      checks.push(checkSessionStore(config));
    }
  }
  return checks;
}

export async function doctorCommand(opts: GlobalOptions, io: CommandIO, _args: string[]): Promise<CommandResult> {
  const out = io.out;
  const checks = await runChecks(opts, io.cwd, new LocalHost(), (v) => out.addSecrets(v), out);
  const c = out.colors;
  const sym = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗') };
  const width = Math.max(...checks.map((k) => k.name.length));
  for (const k of checks) {
    out.print(`${sym[k.level]} ${k.name.padEnd(width)}  ${k.level === 'fail' ? c.red(k.detail) : k.detail}`);
    if (k.fix) out.print(`  ${' '.repeat(width)}  ${c.cyan('fix:')} ${k.fix}`);
  }
  const fails = checks.filter((k) => k.level === 'fail').length;
  const warns = checks.filter((k) => k.level === 'warn').length;
  const tally = `${fails} problem${fails === 1 ? '' : 's'}, ${warns} warning${warns === 1 ? '' : 's'}`;
  out.summary(fails === 0, fails === 0 ? `ready to deploy (${tally})` : tally);
  return { exitCode: fails ? 1 : 0, json: { checks } };
}
