/**
 * One real OpenSSH server on this machine for a test file: a key pair and a host key generated into
 * a temp folder, `sshd -D` listening on a free loopback port, host keys checked through a known_hosts
 * file. Unlike test/helpers/hosts.ts it needs no network namespace: one host, one port. (The SSH
 * host's agent lands in ~/.cache/zdd of the login user's passwd home, as on a real server: sshd
 * starts sessions there whatever HOME says.) `stop()` ends sshd and removes the temp folder.
 */
import { execa } from 'execa';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshSettings, SshTarget } from '../../src/host/ssh.js';
import { freePort } from './ports.js';

export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  /** Where the SshHost connects: 127.0.0.1, this user, the port sshd listens on. */
  target: SshTarget;
  settings: SshSettings;
  /** The temp folder (keys, config, known_hosts, control sockets). */
  work: string;
  /** sshd's last output, for failures. */
  log(): string;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Throws (never skips) when sshd is missing: scripts/test.sh installs openssh-server. */
export async function startSshd(): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is not installed: apt-get install openssh-server (scripts/test.sh does)`);
  const work = await mkdtemp(join(tmpdir(), 'zdd-sshd-'));
  let child: ChildProcess | undefined;
  let output = '';
  const stop = async () => {
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    await rm(work, { recursive: true, force: true }).catch(() => {});
  };
  try {
    const user = userInfo().username;
    const controlDir = join(work, 'ctl');
    await mkdir(controlDir, { mode: 0o700 });
    // Privilege separation wants this folder (absent on a machine where sshd never ran).
    if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    for (const [name, comment] of [
      ['id', 'zdd-test'],
      ['hostkey', 'zdd-test-host'],
    ] as const) {
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, name), '-C', comment], { timeout: 20_000 });
    }
    await writeFile(join(work, 'authorized_keys'), await readFile(join(work, 'id.pub'), 'utf8'), { mode: 0o600 });
    const hostPub = (await readFile(join(work, 'hostkey.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    const port = await freePort();
    await writeFile(join(work, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
    const conf = join(work, 'sshd.conf');
    await writeFile(conf, sshdConfig({ port, address: '127.0.0.1', work, pidFile: join(work, 'sshd.pid') }));
    // -D: stay in the foreground (a child we can stop), -e: log to stderr.
    const c = spawn(SSHD, ['-D', '-e', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-8000);
    };
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(port))) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`sshd exited at start (${c.exitCode ?? c.signalCode}): ${output.trim()}`);
      if (Date.now() > deadline) throw new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s: ${output.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      target: { host: '127.0.0.1', user, port },
      settings: {
        identityFile: join(work, 'id'),
        options: [`UserKnownHostsFile=${join(work, 'known_hosts')}`, 'GlobalKnownHostsFile=/dev/null', 'ConnectTimeout=10'],
        controlDir,
      },
      work,
      log: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An sshd_config for a test sshd: key-only root login, keys and pid under `work`, no PAM, many sessions. */
export function sshdConfig(o: { port: number; address: string; work: string; pidFile: string; env?: string[] }): string {
  return [
    `Port ${o.port}`,
    `ListenAddress ${o.address}`,
    `HostKey ${join(o.work, 'hostkey')}`,
    `PidFile ${o.pidFile}`,
    `AuthorizedKeysFile ${join(o.work, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PrintMotd no',
    'MaxSessions 64',
    'MaxStartups 64',
    ...(o.env ?? []).map((e) => `SetEnv ${e}`),
    '',
  ].join('\n');
}
