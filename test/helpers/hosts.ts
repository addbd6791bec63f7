/**
 * Several deploy targets on this machine, each a small "server" of its own: a network namespace with
 * its own address (a veth pair to this namespace), a real OpenSSH server in it (a key pair and a host
 * key generated into a temp folder, host keys checked through a known_hosts file), its own Nginx,
 * its own PM2 home and deploy root. zdd reaches each over SSH exactly as it would a remote server.
 * `stop()` removes everything: PM2 through each home, processes by PID (everything left in our own
 * namespaces), then the namespaces and the temp folder.
 */
import { execa } from 'execa';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyExample, makeTempDir, removeDir, type Json } from './example.js';
import { startNginx, type NginxInstance } from './nginx.js';
import { repoRoot } from './pm2.js';
import { zddBin } from './site.js';
import { sshdConfig } from './sshd.js';

export interface TestHost {
  name: string;
  ns: string;
  address: string;
  deployTo: string;
  pm2Home: string;
  nginx: NginxInstance;
  /** Base URL of this host's Nginx, reachable from here. */
  url: string;
  sshdPid: number;
  /** The `hosts` entry for zdd's config. */
  entry: Json;
  /** `pm2 jlist` on this host. */
  pm2List(): Promise<Array<{ name: string; pm2_env: Record<string, any> }>>;
}

export interface TestFleet {
  work: string;
  app: string;
  configPath: string;
  hosts: TestHost[];
  zdd(args: string[], opts?: { env?: Record<string, string>; timeout?: number }): Promise<{ exitCode: number; stdout: string; stderr: string; all: string }>;
  stop(): Promise<void>;
}

const BACKEND_PORT = 3000;
const NGINX_PORT = 8080;

async function run(cmd: string, args: string[]): Promise<void> {
  await execa(cmd, args, { timeout: 20_000 });
}

/** Does this machine allow network namespaces and have sshd/rsync? (The test set-up installs them.) */
export function fleetSupported(): string | undefined {
  if (!existsSync('/usr/sbin/sshd')) return 'sshd is not installed (apt-get install openssh-server)';
  if (!existsSync('/usr/bin/rsync')) return 'rsync is not installed (apt-get install rsync)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root';
  return undefined;
}

export async function makeFleet(opts: {
  count: number;
  version: string;
  config?: Json;
  /** The last host's deploy root folder name (say, one hostile to shells: quotes, $(…), spaces). */
  lastDeployTo?: string;
}): Promise<TestFleet> {
  const work = await makeTempDir('fleet-');
  const tag = `${process.pid % 10000}${randomInt(100, 999)}`;
  const octet = randomInt(100, 250);
  const third = randomInt(1, 250);
  const hosts: TestHost[] = [];
  const namespaces: string[] = [];
  const stopHosts = async () => {
    for (const h of hosts) {
      await execa(process.execPath, [join(repoRoot, 'node_modules', 'pm2', 'bin', 'pm2'), 'kill'], {
        env: { PM2_HOME: h.pm2Home },
        reject: false,
        timeout: 30_000,
      });
      await h.nginx.stop();
    }
    for (const ns of namespaces) {
      // Everything still running in our own namespaces (sshd, agents, strays), by PID.
      const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
      for (const pid of String(pids.stdout)
        .split('\n')
        .map(Number)
        .filter((n) => n > 1)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  };
  try {
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'id'), '-C', 'zdd-test']);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'hostkey'), '-C', 'zdd-test-host']);
    await writeFile(join(work, 'authorized_keys'), await readFile(join(work, 'id.pub'), 'utf8'), { mode: 0o600 });
    const hostPub = (await readFile(join(work, 'hostkey.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    const known: string[] = [];

    for (let i = 0; i < opts.count; i++) {
      const ns = `zdd${tag}h${i}`;
      const vethHere = `zv${tag}${i}a`.slice(-15);
      const vethThere = `zv${tag}${i}b`.slice(-15);
      const here = `10.${octet}.${third}.${i * 4 + 1}`;
      const address = `10.${octet}.${third}.${i * 4 + 2}`;
      await run('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      await run('ip', ['link', 'add', vethHere, 'type', 'veth', 'peer', 'name', vethThere]);
      await run('ip', ['link', 'set', vethThere, 'netns', ns]);
      await run('ip', ['addr', 'add', `${here}/30`, 'dev', vethHere]);
      await run('ip', ['link', 'set', vethHere, 'up']);
      await run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${address}/30`, 'dev', vethThere]);
      await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', vethThere, 'up']);
      await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);

      // Each host has a HOME of its own (like a separate machine): sessions do not run this
      // machine's ~/.bashrc. sshd still starts sessions in the account's home (/root), and the
      // agent's .cache/zdd is relative to it, so the hosts here share that one agent file.
      const home = join(work, `home-${i}`);
      await mkdir(home, { recursive: true });
      const sshdConf = join(work, `sshd-${i}.conf`);
      const pidFile = join(work, `sshd-${i}.pid`);
      await writeFile(sshdConf, sshdConfig({ port: 22, address, work, pidFile, env: [`HOME=${home}`] }));
      await run('ip', ['netns', 'exec', ns, '/usr/sbin/sshd', '-f', sshdConf]);
      const deadline = Date.now() + 10_000;
      while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const sshdPid = Number((await readFile(pidFile, 'utf8')).trim());
      known.push(`${address} ${hostPub}`);

      const base = join(work, `host-${i}`);
      const deployTo = join(base, opts.lastDeployTo && i === opts.count - 1 ? opts.lastDeployTo : 'deploy');
      // Nginx cannot take $ in a root path: it serves through a plain symlink to the deploy root.
      const plain = join(base, 'site');
      await mkdir(base, { recursive: true });
      await symlink(deployTo, plain);
      const pm2Home = join(base, 'pm2');
      await mkdir(pm2Home, { recursive: true });
      const nginx = await startNginx({ deployTo: plain, backendPort: BACKEND_PORT, port: NGINX_PORT, address, wrap: ['ip', 'netns', 'exec', ns] });
      const entry: Json = {
        host: address,
        user: 'root',
        deployTo,
        env: {
          PM2_HOME: pm2Home,
          PATH: `${join(repoRoot, 'node_modules', '.bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
          NGINX_ARGS: `-p ${nginx.prefix} -c ${nginx.confPath} -e ${nginx.errorLog}`,
        },
      };
      const h: TestHost = {
        name: `root@${address}`,
        ns,
        address,
        deployTo,
        pm2Home,
        nginx,
        url: `http://${address}:${NGINX_PORT}`,
        sshdPid,
        entry,
        async pm2List() {
          const r = await execa(process.execPath, [join(repoRoot, 'node_modules', 'pm2', 'bin', 'pm2'), 'jlist'], {
            env: { PM2_HOME: pm2Home },
            reject: false,
          });
          const line = String(r.stdout)
            .split('\n')
            .reverse()
            .find((l) => l.startsWith('['));
          return JSON.parse(line ?? '[]');
        },
      };
      hosts.push(h);
    }
    await writeFile(join(work, 'known_hosts'), `${known.join('\n')}\n`);

    const app = join(work, 'app');
    const { configPath } = await copyExample(app, {
      version: opts.version,
      deployTo: '/srv/unused',
      backendPort: BACKEND_PORT,
      nginx: { test: 'nginx $NGINX_ARGS -t', reload: 'nginx $NGINX_ARGS -s reload' },
      config: {
        hosts: hosts.map((h) => h.entry),
        ssh: { identityFile: join(work, 'id'), options: [`UserKnownHostsFile=${join(work, 'known_hosts')}`, 'ConnectTimeout=10'] },
        ...(opts.config ?? {}),
      },
    });
    return {
      work,
      app,
      configPath,
      hosts,
      async zdd(args, o = {}) {
        const r = await execa(process.execPath, [zddBin, ...args, '--config', configPath], {
          env: { CI: '1', ...o.env },
          reject: false,
          all: true,
          cwd: app,
          timeout: o.timeout ?? 300_000,
        });
        return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), all: String(r.all) };
      },
      async stop() {
        await stopHosts();
        await removeDir(work);
      },
    };
  } catch (err) {
    await stopHosts().catch(() => {});
    await removeDir(work).catch(() => {});
    throw err;
  }
}
