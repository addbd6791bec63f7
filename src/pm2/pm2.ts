/**
 * PM2 through the host: which binary (and its version, read without starting a daemon), the
 * ecosystem file zdd writes, and `pm2 jlist` parsed into what zdd needs (status, the release each
 * instance runs, restarts).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import { onThisMachine, type Host } from '../host/types.js';
import type { Paths } from '../core/types.js';
import { reloadSafetyArgs } from './reload-safety.js';

const requireHere = createRequire(import.meta.url);

export interface Pm2Instance {
  pmId: number;
  name: string;
  status: string;
  release: string | null;
  execPath: string;
  cwd: string;
  restarts: number;
  uptimeStart: number | null;
  pid: number | null;
  execMode: string;
  /** What the worker answered since it started, when zdd's code there counts it (runtime/answers.ts). */
  answers?: { answers: number; errors: number };
}

export interface Pm2Found {
  /** The command that runs it. */
  argv: string[];
  /** Where it was found: the `pm2` on the host's PATH, or the folder of zdd's own pm2 package. */
  path: string;
  /** zdd's own dependency (a package on the machine zdd runs on), not a pm2 on the host's PATH. */
  own: boolean;
}

/**
 * Which PM2 zdd runs on a host: `pm2` on the host's PATH, else the one zdd depends on (run with
 * this Node); undefined when there is neither. `env` is for the lookup only (a test's PATH).
 * Transport errors of the host are thrown.
 */
export async function findPm2(host: Host, env?: Record<string, string | undefined>): Promise<Pm2Found | undefined> {
  const which = await host.exec(['sh', '-c', 'command -v pm2'], { reject: false, readOnly: true, ...(env ? { env } : {}) });
  const onPath = which.exitCode === 0 ? which.stdout.trim() : '';
  if (onPath) return { argv: [onPath], path: onPath, own: false };
  const dir = ownPm2Dir();
  return dir ? { argv: [process.execPath, path.join(dir, 'bin', 'pm2')], path: dir, own: true } : undefined;
}

/** The folder of the pm2 package zdd depends on, if it is installed. */
function ownPm2Dir(): string | undefined {
  try {
    return path.dirname(requireHere.resolve('pm2/package.json'));
  } catch {
    return undefined;
  }
}

/** `pm2` on PATH, else the one zdd depends on (run with node). */
export async function pm2Command(host: Host): Promise<string[]> {
  const found = await findPm2(host);
  if (!found) throw new Error('pm2 not found: neither on the PATH nor installed with zdd (npm install -g pm2)');
  return found.argv;
}

/**
 * The pm2 nearest package.json at or above a file (after symlinks), run with `node -e <this> <file>`:
 * prints its version, exits 1 when there is none.
 */
const PM2_VERSION_OF = `const fs = require('node:fs'), path = require('node:path');
let dir;
try { dir = path.dirname(fs.realpathSync(process.argv[1])); } catch { process.exit(1); }
for (;;) {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (j.name === 'pm2') { console.log(j.version ?? ''); process.exit(0); }
  } catch {}
  const up = path.dirname(dir);
  if (up === dir) process.exit(1);
  dir = up;
}`;

/**
 * The version of a PM2 found by findPm2, read from its package.json: never by running
 * `pm2 --version`, which starts a PM2 daemon when none runs. Undefined when it cannot be told.
 */
export async function pm2Version(host: Host, found: Pm2Found): Promise<string | undefined> {
  if (found.own) {
    try {
      return (requireHere('pm2/package.json') as { version?: string }).version;
    } catch {
      return undefined;
    }
  }
  const node = onThisMachine(host) ? process.execPath : 'node';
  const r = await host.exec([node, '-e', PM2_VERSION_OF, found.path], { reject: false, readOnly: true, timeoutMs: 10_000 }).catch(() => undefined);
  return r?.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

export function ecosystemSource(config: ZddConfig, paths: Paths, releaseId: string): string {
  const b = config.backend!;
  const cwd = path.join(paths.current, 'backend');
  const app = {
    name: config.app,
    // Absolute paths through `current`: PM2 stores them as given and re-reads them on every reload.
    script: path.join(cwd, b.script),
    cwd,
    exec_mode: 'cluster',
    instances: b.instances === 'max' ? 'max' : b.instances,
    wait_ready: b.waitReady,
    listen_timeout: b.readyTimeout,
    kill_timeout: b.killTimeout,
    // Always set, even empty: PM2 keeps an app's node_args across reloads unless the file gives new ones.
    node_args: reloadSafetyArgs(config, paths.current),
    merge_logs: true,
    env: {
      ...b.env,
      PORT: String(b.port),
      ZDD_RELEASE: releaseId,
      ZDD_KILL_TIMEOUT: String(b.killTimeout),
    },
  };
  return `// Written by zdd on every deploy; edit zdd's config instead.\nmodule.exports = ${JSON.stringify({ apps: [app] }, null, 2)};\n`;
}

/** The counts zdd's code in the worker sends PM2 as custom metrics ("zdd answers", "zdd 5xx"). */
function answersOf(monitor: Record<string, { value?: unknown }> | undefined): Pick<Pm2Instance, 'answers'> {
  const answers = Number(monitor?.['zdd answers']?.value);
  const errors = Number(monitor?.['zdd 5xx']?.value);
  return Number.isFinite(answers) && Number.isFinite(errors) ? { answers: { answers, errors } } : {};
}

function toInstance(p: Record<string, any>): Pm2Instance {
  const env = p.pm2_env ?? {};
  return {
    pmId: p.pm_id,
    name: p.name,
    status: env.status,
    release: env.ZDD_RELEASE ?? env.env?.ZDD_RELEASE ?? null,
    execPath: env.pm_exec_path ?? '',
    cwd: env.pm_cwd ?? '',
    restarts: env.restart_time ?? 0,
    uptimeStart: env.pm_uptime ?? null,
    pid: p.pid ?? null,
    execMode: env.exec_mode ?? '',
    ...answersOf(env.axm_monitor),
  };
}

/** `pm2 jlist` through the host (any host; costs a PM2 CLI start, about half a second). */
export async function pm2List(host: Host, pm2: string[], cwd: string): Promise<Pm2Instance[]> {
  if (!onThisMachine(host)) {
    // `pm2 jlist` starts a daemon when none runs: only ask a daemon that is there (reads stay reads).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, run by sh
    const up = await host.exec(['sh', '-c', 'test -S "${PM2_HOME:-$HOME/.pm2}/rpc.sock"'], { reject: false, readOnly: true });
    if (up.exitCode !== 0) return [];
  }
  // Before the first deploy the deploy root may not exist yet; PM2 does not care where it runs from.
  const where = (await host.stat(cwd))?.type === 'dir' ? cwd : '/';
  const r = await host.exec([...pm2, 'jlist'], { cwd: where, readOnly: true });
  // pm2 may print a banner ("[PM2] Spawning PM2 daemon...") before the JSON line.
  const line = r.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('[{') || l.trim() === '[]');
  return (JSON.parse(line ?? '[]') as Array<Record<string, any>>).map(toInstance);
}

/**
 * PM2's API takes a few hundred ms to load: a deploy starts loading it while the builds run (the
 * main thread idles then), and a rollback while it takes the lock and tests Nginx, so the first
 * look at PM2 does not wait for it.
 */
export function loadPm2Api(): Promise<any> {
  return import('pm2').then((m: any) => m.default ?? m);
}

/** `pm2 reload` refused: PM2 is still reloading the app (the CLI's lock, or the daemon's own check). */
export const RELOAD_IN_PROGRESS = /already in progress/i;

/**
 * The PM2 daemon of this machine, talked to in-process over its RPC socket (a few ms a call instead
 * of a CLI start, ~0.5 s): the process list, and the reload. It never starts a daemon: no socket,
 * no processes. Reading falls back to `pm2 jlist` on anything unexpected; for a reload the caller
 * runs the CLI when there is no daemon to talk to. Only for a host that is this machine.
 */
export class Pm2Client {
  private api: any;
  private connected = false;
  constructor(
    private readonly host: Host,
    /** The PM2 CLI argv, for the `pm2 jlist` fallback; only asked for when needed. */
    private readonly pm2: () => Promise<string[]>,
    private readonly cwd: string,
    /** PM2's API module, if something already started loading it (see loadPm2Api). */
    private readonly apiModule?: Promise<any>,
  ) {}

  private home(): string {
    return process.env.PM2_HOME ?? path.join(process.env.HOME ?? os.homedir(), '.pm2');
  }

  /** Connected to the daemon? False when there is none (no socket). Throws when connecting fails. */
  private async connect(): Promise<boolean> {
    if (this.connected) return true;
    if (!(await this.host.stat(path.join(this.home(), 'rpc.sock')))) return false;
    this.api = await (this.apiModule ?? loadPm2Api());
    if (!this.api) this.api = await loadPm2Api();
    await new Promise<void>((resolve, reject) => this.api.connect((err: Error | null) => (err ? reject(err) : resolve())));
    this.connected = true;
    return true;
  }

  async list(): Promise<Pm2Instance[]> {
    if (!onThisMachine(this.host)) return pm2List(this.host, await this.pm2(), this.cwd);
    try {
      if (!(await this.connect())) return [];
      const list = await new Promise<Array<Record<string, any>>>((resolve, reject) =>
        this.api.list((err: Error | null, l: Array<Record<string, any>>) => (err ? reject(err) : resolve(l))),
      );
      return list.map(toInstance);
    } catch {
      return pm2List(this.host, await this.pm2(), this.cwd);
    }
  }

  /**
   * What `pm2 reload <ecosystem> --only <app> --update-env` does, in this process: PM2's CLI calls
   * API.reload -> _startJson(file, opts, 'reloadProcessId') -> _operate (pm2/lib/API.js), and so
   * does this, with PM2's own functions: the file parsed and checked as the CLI does
   * (Common.parseConfig, verifyConfs), the app's settings and env merged as the CLI does
   * (mergeEnvironmentVariables, updateEnv), then _operate reloads the app's instances one by one
   * in the daemon (God/Reload.js: new worker, its `ready`, then the old one stopped).
   *
   * Differences from the CLI, on purpose: an error of the daemon (say "Reload already in progress
   * for process id 0", when a reload started by a zdd that was killed is still running) is thrown
   * here, where _startJson would print it and exit 0; and PM2_HOME/reload.lock, the CLI's
   * "Reload already in progress" lock, is honoured but not taken (a zdd killed mid-reload would
   * leave it stale for 30 s; zdd's own lock already keeps two zdd runs apart, and the daemon
   * refuses to reload a worker twice at once).
   *
   * Returns false when there is no daemon to talk to in-process (the caller then runs the CLI).
   */
  async reload(ecosystem: string, app: string): Promise<boolean> {
    if (!this.connected) {
      try {
        if (!(await this.connect())) return false;
      } catch {
        return false;
      }
    }
    const Common = requireHere('pm2/lib/Common.js');
    const lock = lockAge(await this.host.readFile(path.join(this.home(), 'reload.lock')));
    if (lock !== undefined)
      throw new Error(`Reload already in progress: PM2's CLI took ${path.join(this.home(), 'reload.lock')} ${Math.round(lock / 1000)} s ago`);

    // _startJson: the file, its apps, the one named by --only.
    const config = Common.parseConfig(Buffer.from((await this.host.readFile(ecosystem)) ?? ''), ecosystem);
    let apps = config.apps ?? config.pm2 ?? config;
    if (!Array.isArray(apps)) apps = [apps];
    apps = Common.verifyConfs(apps);
    if (apps instanceof Error) throw apps;
    const conf = (apps as Array<Record<string, any>>).find((a) => a.name === app);
    if (!conf) throw new Error(`${ecosystem} defines no app named ${app}`);
    conf.env ??= {};
    conf.env.io = conf.io;
    conf.namespace ??= 'default';
    conf.username = Common.getCurrentUsername();
    const env = Common.mergeEnvironmentVariables(conf, undefined, {});
    env.updateEnv = true; // --update-env; _startJson sets it for every app of a file anyway

    // _startJson sets this for the rest of the CLI's life; _operate reads it, and it reaches the
    // app's env through --update-env as it does from the CLI. Put back afterwards.
    const before = process.env.PM2_JSON_PROCESSING;
    process.env.PM2_JSON_PROCESSING = 'true';
    try {
      await new Promise<void>((resolve, reject) =>
        this.api._operate('reloadProcessId', app, env, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve())),
      );
      this.api.Client.notifyGod('reloadProcessId', app);
    } finally {
      if (before === undefined) delete process.env.PM2_JSON_PROCESSING;
      else process.env.PM2_JSON_PROCESSING = before;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.connected) {
      this.connected = false;
      await new Promise<void>((resolve) => this.api.disconnect(() => resolve()));
    }
  }
}

/** Age in ms of PM2's reload lock when another `pm2 reload` holds it (PM2's Common.lockReload), else undefined. */
function lockAge(text: string | undefined): number | undefined {
  const timeout = parseInt(process.env.PM2_RELOAD_LOCK_TIMEOUT ?? '', 10) || 30_000;
  const t = parseInt(text ?? '', 10);
  if (!Number.isFinite(t)) return undefined;
  const age = Date.now() - t;
  return age >= 0 && age < timeout ? age : undefined;
}

export async function appInstances(host: Host, pm2: string[], cwd: string, app: string): Promise<Pm2Instance[]> {
  const reader = new Pm2Client(host, async () => pm2, cwd);
  try {
    return (await reader.list()).filter((p) => p.name === app);
  } finally {
    await reader.close();
  }
}
