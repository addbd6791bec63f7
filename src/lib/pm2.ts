/**
 * PM2 through the host: which binary, the ecosystem file zdd writes, and `pm2 jlist` parsed into
 * what zdd needs (status, the release each instance runs, restarts).
 */
import { createRequire } from 'node:module';
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
    wait_ready: true,
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

export async function pm2List(host: Host, pm2: string[], cwd: string): Promise<Pm2Instance[]> {
  const r = await host.exec([...pm2, 'jlist'], { cwd, readOnly: true });
  // pm2 may print a banner ("[PM2] Spawning PM2 daemon...") before the JSON line.
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('[{') || l.trim() === '[]');
  const data = JSON.parse(line ?? '[]') as Array<Record<string, any>>;
  return data.map((p) => {
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
  });
}

export async function appInstances(host: Host, pm2: string[], cwd: string, app: string): Promise<Pm2Instance[]> {
  return (await pm2List(host, pm2, cwd)).filter((p) => p.name === app);
}
