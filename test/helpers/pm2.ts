import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Root of the zdd repository (test/helpers/../..). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The PM2 CLI installed in the repository's node_modules. */
export const pm2Bin = join(repoRoot, 'node_modules', '.bin', 'pm2');

export interface TempPm2Home {
  /** The PM2_HOME folder (a fresh temp folder; its own daemon, sockets and logs). */
  home: string;
  /** process.env plus PM2_HOME=home (and no inherited PM2 settings that could leak to another daemon). */
  env: NodeJS.ProcessEnv;
  /** `pm2 kill` for this PM2_HOME only, then removes the folder. Never throws. */
  kill(): Promise<void>;
}

/**
 * An isolated PM2 home. Every PM2 command given `env` talks only to the daemon under `home`,
 * so tests never touch another PM2 on this machine and `kill()` stops only that daemon.
 */
export async function tempPm2Home(): Promise<TempPm2Home> {
  const home = await mkdtemp(join(tmpdir(), 'zdd-pm2-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PM2_HOME: home };
  delete env.PM2_PUBLIC_KEY;
  delete env.PM2_SECRET_KEY;
  let killed = false;
  return {
    home,
    env,
    async kill() {
      if (killed) return;
      killed = true;
      // Nothing to stop if no daemon was ever started here (and `pm2 kill` would spawn one).
      const pids = await pm2Pids(home);
      if (pids.length > 0) {
        try {
          await execFileAsync(pm2Bin, ['kill'], { env, timeout: 30_000 });
        } catch {
          // Fall through: anything left is stopped by PID below.
        }
        // Belt and braces: the daemon and apps recorded under this PM2_HOME, by PID only.
        for (const pid of pids) {
          if (!(await belongsTo(pid, home))) continue; // gone, or the PID was reused
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** PIDs recorded under a PM2_HOME: the daemon (pm2.pid) and its apps (pids/*.pid). */
async function pm2Pids(home: string): Promise<number[]> {
  const files = [join(home, 'pm2.pid')];
  try {
    for (const f of await readdir(join(home, 'pids'))) files.push(join(home, 'pids', f));
  } catch {
    // no pids folder
  }
  const pids: number[] = [];
  for (const f of files) {
    try {
      const pid = Number((await readFile(f, 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) pids.push(pid);
    } catch {
      // missing file
    }
  }
  return pids;
}

/** True if `pid` is alive and was started with PM2_HOME=home (guards against PID reuse). */
async function belongsTo(pid: number, home: string): Promise<boolean> {
  try {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`PM2_HOME=${home}`);
  } catch {
    return false;
  }
}
