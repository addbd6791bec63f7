// The SSH host and its agent, end to end on this machine: a stand-in `ssh` on PATH runs the remote
// command line with `sh -c` here (as sshd would run it through the user's shell), so everything else —
// the agent bootstrap, the JSON protocol, quoting, rsync over "ssh" — is the real code. The real
// sshd is exercised by test/e2e/hosts.test.ts.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandFailed } from '../../src/core/errors.js';
import { parseHostString } from '../../src/core/host-string.js';
import { SshHost, targetName } from '../../src/host/ssh.js';
import { batchesOf, hostEntries } from '../../src/deploy/hosts.js';

describe('parseHostString / targetName / hostEntries / batchesOf', () => {
  it('reads user@host[:port]', () => {
    expect(parseHostString('deploy@web1.example.com')).toEqual({ user: 'deploy', host: 'web1.example.com' });
    expect(parseHostString('web2:2222')).toEqual({ user: undefined, host: 'web2', port: 2222 });
    expect(parseHostString('ops@[2001:db8::1]:22')).toEqual({ user: 'ops', host: '2001:db8::1', port: 22 });
    expect(parseHostString('a b')).toBeUndefined();
    expect(() => hostEntries({ hosts: ['a b'] } as any)).toThrow(/user@host\[:port\]/);
    expect(targetName({ user: 'deploy', host: 'web1', port: 22 })).toBe('deploy@web1');
    expect(targetName({ host: 'web1', port: 2222 })).toBe('web1:2222');
  });

  it('gives each host its own deployTo and environment', () => {
    const config = {
      deployTo: '/srv/shop',
      hosts: ['deploy@web1', { host: 'web2', user: 'ops', port: 2200, deployTo: '/opt/shop', env: { PM2_HOME: '/opt/.pm2' } }],
    } as any;
    const e = hostEntries(config);
    expect(e.map((x) => x.config.deployTo)).toEqual(['/srv/shop', '/opt/shop']);
    expect(e[1]!.target).toEqual({ host: 'web2', user: 'ops', port: 2200, env: { PM2_HOME: '/opt/.pm2' } });
  });

  it('switches hosts in batches of rollout.batch, or all at once', () => {
    expect(batchesOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batchesOf([1, 2, 3], undefined)).toEqual([[1, 2, 3]]);
  });
});

describe('SshHost through a stand-in ssh (agent, protocol, quoting, rsync)', () => {
  let work: string;
  let home: string;
  let host: SshHost;
  let oldPath: string | undefined;
  let oldHome: string | undefined;
  // Everything a shell could trip on.
  const nasty = `a b 'q' "d" $(touch PWNED) ;x \`touch PWNED2\``;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'zdd-sshhost-'));
    home = join(work, 'home');
    await mkdir(join(work, 'bin'), { recursive: true });
    await mkdir(home, { recursive: true });
    // ssh [options] destination command...: run the command line with sh -c in $HOME, like sshd.
    await writeFile(
      join(work, 'bin', 'ssh'),
      `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    -O) exit 0 ;;
    -o|-p|-i|-l) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
shift
cd "$HOME" && exec sh -c "$*"
`,
    );
    await chmod(join(work, 'bin', 'ssh'), 0o755);
    oldPath = process.env.PATH;
    oldHome = process.env.HOME;
    process.env.PATH = `${join(work, 'bin')}:${process.env.PATH}`;
    process.env.HOME = home;
    host = new SshHost({ host: 'web1', user: 'deploy', env: { ZDD_TEST_HOST_ENV: 'per-host' } }, { options: ['ConnectTimeout=5'], controlDir: work });
    await host.connect();
  });

  afterAll(async () => {
    await host?.close();
    process.env.PATH = oldPath;
    process.env.HOME = oldHome;
    await rm(work, { recursive: true, force: true });
  });

  it('ships the agent once per version into ~/.cache/zdd and names itself', async () => {
    expect(host.name).toBe('deploy@web1');
    const dirs = await execa('ls', [join(home, '.cache', 'zdd')]);
    expect(String(dirs.stdout)).toMatch(/^agent-[0-9a-f]{16}$/);
    const me = await host.identity();
    expect(me.pid).toBeGreaterThan(1);
    expect(await host.processAlive(me.pid!)).toBe(true);
  });

  it('passes paths with spaces, quotes, $(…) and backticks through untouched', async () => {
    const dir = join(work, nasty);
    await host.mkdir(join(dir, 'sub'));
    await host.writeFile(join(dir, 'sub', 'f.txt'), 'hello', { mode: 0o600 });
    expect(await readFile(join(dir, 'sub', 'f.txt'), 'utf8')).toBe('hello');
    expect((await stat(join(dir, 'sub', 'f.txt'))).mode & 0o777).toBe(0o600);
    expect(await host.readFile(join(dir, 'sub', 'f.txt'))).toBe('hello');
    expect(await host.readdir(dir)).toEqual(['sub']);
    await host.symlinkAtomic('sub', join(dir, 'current'));
    expect(await host.readlink(join(dir, 'current'))).toBe('sub');
    expect(await host.listFiles(dir)).toMatchObject([{ path: 'sub/f.txt', size: 5 }]);
    const r = await host.exec(['printf', '%s', nasty], { cwd: dir });
    expect(r.stdout).toBe(nasty);
    const bytes = new Uint8Array([0, 255, 10, 13, 128]);
    await host.writeBytes(join(dir, 'bin.dat'), bytes, { mtimeMs: 1_700_000_000_000 });
    expect(Array.from((await host.readBytes(join(dir, 'bin.dat')))!)).toEqual(Array.from(bytes));
    for (const d of [work, home, join(dir, 'sub')]) {
      expect(existsSync(join(d, 'PWNED'))).toBe(false);
      expect(existsSync(join(d, 'PWNED2'))).toBe(false);
    }
  });

  it('runs commands with the host environment, streams output, and reports failures with the host name', async () => {
    const chunks: string[] = [];
    const r = await host.shell('echo "$ZDD_TEST_HOST_ENV $EXTRA"; echo done >&2', { env: { EXTRA: 'x y' }, onOutput: (c) => chunks.push(c) });
    expect(r.stdout).toBe('per-host x y\n');
    expect(r.all).toContain('done');
    expect(chunks.join('')).toContain('per-host x y');
    const soft = await host.shell('exit 3', { reject: false });
    expect(soft.exitCode).toBe(3);
    const err = await host.shell('echo oops; exit 4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).message).toBe('`echo oops; exit 4` exited with 4 on deploy@web1');
    expect((err as CommandFailed).tail).toBe('oops');
    const missing = await host.exec(['zdd-no-such-program']).catch((e: Error) => e);
    expect((missing as Error).message).toContain('could not run: command not found');
    const input = await host.exec(['cat'], { input: 'from stdin' });
    expect(input.stdout).toBe('from stdin');
  });

  it('cancels a running command on abort', async () => {
    const c = new AbortController();
    const t0 = Date.now();
    setTimeout(() => c.abort(), 200);
    const err = await host.exec(['sleep', '30'], { signal: c.signal }).catch((e: Error) => e);
    expect((err as Error).message).toContain('was cancelled');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('runs a background process with IPC (the canary) and stops it', async () => {
    const script = join(work, 'app.cjs');
    await writeFile(
      script,
      "console.log('booting'); process.send('ready'); process.on('SIGINT', () => { console.log('bye'); process.exit(0); }); setInterval(() => {}, 1000);\n",
    );
    const p = host.spawn([process.execPath, script], { cwd: work, ipc: true });
    await p.started;
    expect(p.pid).toBeGreaterThan(1);
    await p.waitForMessage('ready');
    // The app answers 'ready' before the wait is even asked for: it must not be missed.
    await new Promise((r) => setTimeout(r, 300));
    await p.waitForMessage('ready');
    await p.stop(10_000);
    const e = await p.exited;
    expect(e, p.output()).toEqual({ code: 0, signal: null });
    expect(p.output()).toContain('booting');
    expect(p.output()).toContain('bye');
  });

  it('keeps secrets off every command line (ps) while they reach the process', async () => {
    const secret = `zdd-secret-${Date.now()}`;
    const p = host.spawn(['sleep', '30'], { cwd: work, env: { API_TOKEN: secret } });
    await p.started;
    const ps = await execa('ps', ['-eo', 'args']);
    expect(String(ps.stdout)).not.toContain(secret);
    expect(await readFile(`/proc/${p.pid}/environ`, 'utf8')).toContain(`API_TOKEN=${secret}`);
    await p.stop(1000);
  });

  it('uploads with rsync, hard-linking what did not change (--link-dest)', async () => {
    const src = join(work, 'src');
    await mkdir(join(src, 'lib'), { recursive: true });
    await mkdir(join(src, 'node_modules'), { recursive: true });
    await writeFile(join(src, 'lib', 'big.js'), 'x'.repeat(200_000));
    await writeFile(join(src, 'small.js'), 'v1');
    await writeFile(join(src, 'node_modules', 'skip.js'), 'never sent');
    const a = join(work, nasty, 'r1');
    const b = join(work, nasty, 'r2');
    const first = await host.upload(src, a, { exclude: ['node_modules'] });
    expect(first?.sentBytes).toBeGreaterThan(200_000);
    await writeFile(join(src, 'small.js'), 'v2 changed');
    const second = await host.upload(src, b, { exclude: ['node_modules'], linkDest: [a] });
    expect(second?.sentBytes).toBeLessThan(5_000);
    expect(second?.totalBytes).toBeGreaterThan(200_000);
    expect((await stat(join(a, 'lib', 'big.js'))).ino).toBe((await stat(join(b, 'lib', 'big.js'))).ino);
    expect(await readFile(join(b, 'small.js'), 'utf8')).toBe('v2 changed');
    expect(existsSync(join(b, 'node_modules'))).toBe(false);
  });

  it('stops what it started when the connection closes', async () => {
    const other = new SshHost({ host: 'web2' }, { options: [], controlDir: work });
    await other.connect();
    const p = other.spawn(['sleep', '60'], { cwd: work });
    await p.started;
    const pid = p.pid!;
    expect(await host.processAlive(pid)).toBe(true);
    await other.close();
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      await new Promise((r) => setTimeout(r, 100));
      alive = await host.processAlive(pid);
    }
    expect(alive).toBe(false);
  });
});
