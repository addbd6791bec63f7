/**
 * PM2 through the host: which binary, the ecosystem file zdd writes, and `pm2 jlist` parsed into
 * what zdd needs (status, the release each instance runs, restarts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
import type { Paths } from '../steps/types.js';

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
}

/** `pm2` on PATH, else the one zdd depends on (run with node). */
export async function pm2Command(host: Host): Promise<string[]> {
  const which = await host.exec(['sh', '-c', 'command -v pm2'], { reject: false, readOnly: true });
  if (which.exitCode === 0 && which.stdout.trim()) return [which.stdout.trim()];
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve('pm2/package.json'));
  return [process.execPath, path.join(pkgDir, 'bin', 'pm2')];
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
  };
}

/** `pm2 jlist` through the host (any host; costs a PM2 CLI start, about half a second). */
export async function pm2List(host: Host, pm2: string[], cwd: string): Promise<Pm2Instance[]> {
  if (host.name !== 'local') {
    // `pm2 jlist` starts a daemon when none runs: only ask a daemon that is there (reads stay reads).
    const up = await host.exec(['sh', '-c', 'test -S "${PM2_HOME:-$HOME/.pm2}/rpc.sock"'], { reject: false, readOnly: true });
    if (up.exitCode !== 0) return [];
  }
  // Before the first deploy the deploy root may not exist yet; PM2 does not care where it runs from.
  const where = (await host.stat(cwd))?.type === 'dir' ? cwd : '/';
  const r = await host.exec([...pm2, 'jlist'], { cwd: where, readOnly: true });
  // pm2 may print a banner ("[PM2] Spawning PM2 daemon...") before the JSON line.
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('[{') || l.trim() === '[]');
  return (JSON.parse(line ?? '[]') as Array<Record<string, any>>).map(toInstance);
}

/**
 * Reads the process list. On this machine it asks the PM2 daemon over its RPC socket in-process
 * (a few ms a call instead of a CLI start), and never starts a daemon: no socket, no processes.
 * Anything unexpected falls back to `pm2 jlist`. Commands that change PM2 still go through the CLI.
 */
/**
 * PM2's API takes a few hundred ms to load: a deploy starts loading it while the builds run (the
 * main thread idles then), so the first look at PM2 does not wait for it.
 */
export function loadPm2Api(): Promise<any> {
  return import('pm2').then((m: any) => m.default ?? m);
}

export class Pm2Reader {
  private api: any;
  private connected = false;
  constructor(
    private readonly host: Host,
    private readonly pm2: string[],
    private readonly cwd: string,
    /** PM2's API module, if something already started loading it (see loadPm2Api). */
    private readonly apiModule?: Promise<any>,
  ) {}

  private home(): string {
    return process.env.PM2_HOME ?? path.join(process.env.HOME ?? os.homedir(), '.pm2');
  }

  async list(): Promise<Pm2Instance[]> {
    if (this.host.name !== 'local') return pm2List(this.host, this.pm2, this.cwd);
    try {
      if (!this.connected) {
        if (!existsSync(path.join(this.home(), 'rpc.sock'))) return [];
        this.api = await (this.apiModule ?? loadPm2Api());
        await new Promise<void>((resolve, reject) => this.api.connect((err: Error | null) => (err ? reject(err) : resolve())));
        this.connected = true;
      }
      const list = await new Promise<Array<Record<string, any>>>((resolve, reject) =>
        this.api.list((err: Error | null, l: Array<Record<string, any>>) => (err ? reject(err) : resolve(l))),
      );
      return list.map(toInstance);
    } catch {
      return pm2List(this.host, this.pm2, this.cwd);
    }
  }

  async close(): Promise<void> {
    if (this.connected) {
      this.connected = false;
      await new Promise<void>((resolve) => this.api.disconnect(() => resolve()));
    }
  }
}

export async function appInstances(host: Host, pm2: string[], cwd: string, app: string): Promise<Pm2Instance[]> {
  const reader = new Pm2Reader(host, pm2, cwd);
  try {
    return (await reader.list()).filter((p) => p.name === app);
  } finally {
    await reader.close();
  }
}
