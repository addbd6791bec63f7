import { execa } from 'execa';
import { chmod, cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/doctor/check.js';
import { checkDeployTo, checkNode, targetChecks } from '../../src/doctor/target.js';
import type { ZddConfig } from '../../src/config/schema.js';
import { LocalHost } from '../../src/host/local.js';
import { RecordingHost } from '../../src/host/recording.js';
import { openFileCacheLine, readNginxConfig } from '../../src/nginx/config.js';
import { findPm2, pm2Version } from '../../src/pm2/pm2.js';
import { repoRoot } from '../helpers/pm2.js';
import { needsBuild, tempDirs } from '../helpers/fs.js';
import { throwawayNginxConf } from '../helpers/nginx.js';

const bin = join(repoRoot, 'bin', 'zdd');
const fixture = join(repoRoot, 'test', 'fixtures', 'sample-project');

const tempDir = tempDirs('doctor');
needsBuild();

/** A project with the sample backend and a zdd.config.json built from `config`. */
async function project(config: Record<string, unknown>): Promise<{ dir: string; configPath: string }> {
  const dir = await tempDir();
  await cp(join(fixture, 'backend'), join(dir, 'backend'), { recursive: true });
  const configPath = join(dir, 'zdd.config.json');
  // The sample backend has no lockfile (and no dependencies): `npm ci`, the default, would refuse it.
  const backend = { script: 'server.js', port: 4100, install: 'npm install --omit=dev --no-audit --no-fund' };
  await writeFile(configPath, JSON.stringify({ app: 'doc-test', backend, ...config }, null, 2));
  return { dir, configPath };
}

/** A PATH with node and nothing else: no nginx, no pm2, not even sh. */
async function pathWithOnlyNode(): Promise<string> {
  const d = await tempDir();
  await symlink(process.execPath, join(d, 'node'));
  return d;
}

async function doctor(cwd: string, args: string[], env: Record<string, string> = {}) {
  // doctor's install cache (src/doctor/stage.ts) in a temp folder, never the user's ~/.cache.
  const XDG_CACHE_HOME = await tempDir();
  return execa(process.execPath, [bin, 'doctor', ...args], { cwd, reject: false, env: { CI: '1', NO_COLOR: '1', XDG_CACHE_HOME, ...env } });
}

function checksOf(stdout: string): Check[] {
  return (JSON.parse(stdout) as { checks: Check[] }).checks;
}

describe('doctor checks', () => {
  it('wants node 20.19 or newer', () => {
    expect(checkNode('20.19.0').level).toBe('ok');
    expect(checkNode('22.1.0').level).toBe('ok');
    const old = checkNode('20.18.3');
    expect(old.level).toBe('fail');
    expect(old.fix).toBeTruthy();
    expect(checkNode('18.20.0').ok).toBe(false);
  });

  it("finds pm2 on the given PATH, with its version from its package.json, else zdd's own", async () => {
    const d = await tempDir();
    // A pm2 package whose bin is linked from a PATH folder, as `npm install -g pm2` lays it out.
    await mkdir(join(d, 'lib', 'pm2', 'bin'), { recursive: true });
    await writeFile(join(d, 'lib', 'pm2', 'package.json'), JSON.stringify({ name: 'pm2', version: '9.8.7' }));
    await writeFile(join(d, 'lib', 'pm2', 'bin', 'pm2'), '#!/bin/sh\nexit 3\n');
    await chmod(join(d, 'lib', 'pm2', 'bin', 'pm2'), 0o755);
    await mkdir(join(d, 'bin'));
    await symlink(join(d, 'lib', 'pm2', 'bin', 'pm2'), join(d, 'bin', 'pm2'));
    await symlink('/bin/sh', join(d, 'bin', 'sh'));
    const host = new LocalHost();

    const onPath = await findPm2(host, { PATH: join(d, 'bin') });
    expect(onPath).toEqual({ argv: [join(d, 'bin', 'pm2')], path: join(d, 'bin', 'pm2'), own: false });
    expect(await pm2Version(host, onPath!)).toBe('9.8.7');

    // A PATH with sh and nothing else: zdd's own pm2, run with this Node.
    await rm(join(d, 'bin', 'pm2'));
    const own = await findPm2(host, { PATH: join(d, 'bin') });
    const ownDir = dirname(createRequire(import.meta.url).resolve('pm2/package.json'));
    expect(own).toEqual({ argv: [process.execPath, join(ownDir, 'bin', 'pm2')], path: ownDir, own: true });
    expect(await pm2Version(host, own!)).toBe(createRequire(import.meta.url)('pm2/package.json').version);
  });

  it('spots an open_file_cache that is on, not one that is off or commented', () => {
    expect(openFileCacheLine('http {\n  open_file_cache max=1000 inactive=20s;\n}')).toBe('open_file_cache max=1000 inactive=20s;');
    expect(openFileCacheLine('server {\n  open_file_cache off;\n  # open_file_cache max=10;\n  open_file_cache_valid 30s;\n}')).toBeUndefined();
    expect(openFileCacheLine('open_file_cache  off; # two spaces\n')).toBeUndefined();
    expect(openFileCacheLine('  open_file_cache max=10; # on\n')).toBe('open_file_cache max=10;');
  });

  it('reads the files of nginx.config as the deploy hashes them: a `# file` line each, (missing) for a missing one', async () => {
    const host = new RecordingHost();
    host.files.set('/p/a.conf', 'server {}\n');
    const config = { projectDir: '/p', nginx: { test: 'nginx -t', config: ['a.conf', '/etc/nginx/b.conf'] } } as unknown as ZddConfig;
    expect(await readNginxConfig(host, config)).toEqual({
      source: 'a.conf, /etc/nginx/b.conf',
      text: '# a.conf\nserver {}\n\n# /etc/nginx/b.conf\n(missing)',
      missing: ['/etc/nginx/b.conf'],
    });
  });

  it('checks write access to deployTo or its nearest existing parent, creating nothing', async () => {
    const d = await tempDir();
    const target = join(d, 'a', 'b');
    const host = new LocalHost();
    const c = await checkDeployTo(host, { app: 'x', deployTo: target } as ZddConfig);
    expect(c.level).toBe('ok');
    expect(c.detail).toContain(d);
    expect(existsSync(join(d, 'a'))).toBe(false);

    await writeFile(join(d, 'file'), '');
    const file = await checkDeployTo(host, { app: 'x', deployTo: join(d, 'file', 'x') } as ZddConfig);
    expect(file).toMatchObject({ level: 'fail', detail: `${join(d, 'file')} exists and is not a folder` });
    expect((await checkDeployTo(host, { app: 'x', deployTo: 'relative/dir' } as ZddConfig)).level).toBe('fail');
  });

  it.skipIf(process.getuid?.() === 0)('fails on a deployTo whose parent is not writable', async () => {
    const d = await tempDir();
    const ro = join(d, 'ro');
    await mkdir(ro, { mode: 0o555 });
    const c = await checkDeployTo(new LocalHost(), { app: 'x', deployTo: join(ro, 'app') } as ZddConfig);
    expect(c).toMatchObject({ level: 'fail', detail: `${join(ro, 'app')} does not exist and ${ro} is not writable by this user` });
    expect(c.fix).toMatch(/mkdir -p/);
  });
});

/**
 * A target machine as a recording host answers it: pm2 and rsync on PATH, nginx 1.24, /srv writable,
 * and a Nginx test that fails (so does its `-T`).
 */
function target(name: string): RecordingHost {
  const host = new RecordingHost(name);
  host.respond = (cmd) => {
    const line = Array.isArray(cmd) ? cmd.join(' ') : cmd;
    if (line === 'sh -c command -v pm2') return { stdout: '/usr/local/bin/pm2\n' };
    if (Array.isArray(cmd) && cmd[1] === '-e' && cmd[3] === '/usr/local/bin/pm2') return { stdout: '6.0.8\n' };
    if (line === 'node --version') return { stdout: 'v22.3.0\n' };
    if (line === 'sh -c command -v rsync') return { stdout: '/usr/bin/rsync\n' };
    if (line === 'nginx -v') return { stderr: 'nginx version: nginx/1.24.0\n' };
    if (Array.isArray(cmd) && cmd[0] === '/bin/sh' && cmd[4] === '/srv/shop') return { stdout: 'dir yes /srv' };
    if (line.startsWith('nginx -t')) {
      const all = 'nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n';
      return { exitCode: 1, stderr: all, all };
    }
    return { exitCode: 127, all: `unexpected: ${line}` };
  };
  return host;
}

describe('targetChecks', () => {
  const config = {
    app: 'shop',
    deployTo: '/srv/shop',
    projectDir: '/p',
    backend: { script: 'server.js' },
    nginx: { test: 'nginx -t', config: [] },
  } as unknown as ZddConfig;

  it('gives this machine the plain row names, and another machine its name before each, from the same function', async () => {
    const here = await targetChecks(target('local'), config);
    expect(here.map((c) => c.name)).toEqual(['node', 'pm2', 'nginx', 'deployTo', 'nginx test', 'open_file_cache']);
    expect(here[0]!.detail).toBe(`v${process.versions.node}`);

    const web1 = target('web1');
    const there = await targetChecks(web1, config);
    expect(there.map((c) => c.name)).toEqual(['web1 node', 'web1 pm2', 'web1 rsync', 'web1 nginx', 'web1 deployTo', 'web1 nginx test', 'web1 open_file_cache']);
    const by = Object.fromEntries(there.map((c) => [c.name.replace('web1 ', ''), c]));
    expect(by.node).toMatchObject({ level: 'ok', detail: 'v22.3.0' });
    expect(by.pm2).toMatchObject({ level: 'ok', detail: 'v6.0.8 (/usr/local/bin/pm2)' });
    expect(by.rsync).toMatchObject({ level: 'ok', detail: '/usr/bin/rsync' });
    expect(by.nginx).toMatchObject({ level: 'ok', detail: 'v1.24.0' });
    expect(by.deployTo).toMatchObject({ level: 'ok', detail: '/srv/shop does not exist yet; /srv is writable, zdd will create it' });
    // Every command it ran there only reads.
    for (const c of web1.calls.filter((c) => c.method === 'exec' || c.method === 'shell')) expect(c.args[1]).toMatchObject({ readOnly: true, reject: false });
  });

  it('shows a failing Nginx test as ✗ with the tail of its output', async () => {
    for (const host of [target('local'), target('web1')]) {
      const test = (await targetChecks(host, config)).find((c) => c.name.endsWith('nginx test'))!;
      expect(test).toMatchObject({ ok: false, level: 'fail' });
      expect(test.detail).toBe(
        '`nginx -t` exited with 1: nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:3 | nginx: configuration file /etc/nginx/nginx.conf test failed',
      );
      expect(test.fix).toMatch(/fix the Nginx config it reports/);
    }
  });

  it('fails node and pm2 on another machine that lacks them, and shows the open_file_cache line it found', async () => {
    const web2 = target('web2');
    const answer = web2.respond;
    web2.respond = (cmd, opts) => {
      const line = Array.isArray(cmd) ? cmd.join(' ') : cmd;
      if (line === 'node --version' || line === 'sh -c command -v pm2') return { exitCode: 127 };
      if (line === 'true') return {};
      return answer(cmd, opts);
    };
    web2.files.set('/etc/nginx/app.conf', 'server {\n  open_file_cache max=100;\n}\n');
    const rows = await targetChecks(web2, { ...config, nginx: { test: 'true', config: ['/etc/nginx/app.conf'] } } as ZddConfig);
    const by = Object.fromEntries(rows.map((c) => [c.name, c]));
    expect(by['web2 node']).toMatchObject({ level: 'fail', detail: 'node not found on the PATH of a non-interactive SSH session' });
    // zdd's own pm2 is on this machine: it does not count for web2.
    expect(by['web2 pm2']).toMatchObject({ level: 'fail', detail: "pm2 not found on the host's PATH" });
    expect(by['web2 open_file_cache']).toMatchObject({ level: 'warn' });
    expect(by['web2 open_file_cache']!.detail).toMatch(/^`open_file_cache max=100;` in \/etc\/nginx\/app.conf: zdd has to reload Nginx/);
  });
});

describe('zdd doctor (CLI)', () => {
  it('shows ✗ nginx with a fix and exits 1 when nginx is not on PATH and the config uses it', async () => {
    const { dir, configPath } = await project({ deployTo: join(await tempDir(), 'srv'), nginx: {} });
    const PATH = await pathWithOnlyNode();

    const r = await doctor(dir, ['--config', configPath], { PATH });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^✗ nginx\s+`nginx` not found on PATH/m);
    expect(r.stdout).toMatch(/fix: install it: sudo apt-get install nginx/);
    expect(r.stdout).toMatch(/^✓ node/m);
    expect(r.stdout).toMatch(/^✓ pm2\s+v\d+\.\d+\.\d+ \(zdd's own/m);
    expect(r.stdout).toMatch(/^✓ deployTo/m);

    const j = await doctor(dir, ['--config', configPath, '--json'], { PATH });
    expect(j.exitCode).toBe(1);
    const nginx = checksOf(j.stdout).find((c) => c.name === 'nginx');
    expect(nginx).toMatchObject({ ok: false, level: 'fail' });
    expect(nginx?.fix).toMatch(/apt-get/);
  });

  it('only warns about a missing nginx when the config has no nginx section', async () => {
    // Not even npm on that PATH: an install that needs nothing (`true`, a shell builtin).
    const { dir, configPath } = await project({ deployTo: join(await tempDir(), 'srv'), backend: { script: 'server.js', port: 4100, install: 'true' } });
    // sh too: the staged install runs through it, as the deploy's does.
    const PATH = await pathWithOnlyNode();
    await symlink('/bin/sh', join(PATH, 'sh'));
    const r = await doctor(dir, ['--config', configPath, '--json'], { PATH });
    expect(r.exitCode, r.stdout).toBe(0);
    expect(checksOf(r.stdout).find((c) => c.name === 'nginx')).toMatchObject({ ok: true, level: 'warn' });
  });

  it('passes (exit 0) on this machine with a config without nginx and a writable deployTo', async () => {
    const { dir, configPath } = await project({ deployTo: join(await tempDir(), 'srv', 'app') });
    const r = await doctor(dir, ['--config', configPath]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^✗/m);
    expect(r.stdout).toMatch(/^✓ config/m);
    expect(r.stdout).toMatch(/^✓ app ready\/shutdown/m);

    const j = await doctor(dir, ['--json']);
    expect(j.exitCode).toBe(0);
    const checks = checksOf(j.stdout);
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'pm2', 'nginx', 'config', 'deployTo']));
    for (const c of checks) expect(['ok', 'warn']).toContain(c.level);
  });

  it('says "run zdd init" when there is no config', async () => {
    const dir = await tempDir();
    const r = await doctor(dir, ['--json']);
    expect(r.exitCode).toBe(1);
    const config = checksOf(r.stdout).find((c) => c.name === 'config');
    expect(config).toMatchObject({ ok: false, level: 'fail' });
    expect(config?.fix).toMatch(/zdd init/);
  });

  it('runs the configured nginx test and warns about open_file_cache', async () => {
    // Nginx is part of the test set-up (scripts/test.sh installs it): without it this must fail, not pass.
    expect((await execa('nginx', ['-v'], { reject: false })).exitCode, 'nginx -v (scripts/test.sh installs nginx)').toBe(0);
    const prefix = await tempDir();
    const conf = throwawayNginxConf(prefix, ['open_file_cache max=1000 inactive=20s;']);
    await writeFile(join(prefix, 'nginx.conf'), conf);
    const test = `nginx -p ${prefix} -c ${prefix}/nginx.conf -t`;
    const { dir } = await project({ deployTo: join(await tempDir(), 'srv'), nginx: { test } });

    const r = await doctor(dir, ['--json']);
    const checks = checksOf(r.stdout);
    expect(r.exitCode, JSON.stringify(checks, null, 2)).toBe(0);
    expect(checks.find((c) => c.name === 'nginx test')).toMatchObject({ level: 'ok' });
    expect(checks.find((c) => c.name === 'open_file_cache')).toMatchObject({ level: 'warn' });

    await writeFile(join(prefix, 'nginx.conf'), conf.replace('events {}', 'events { bogus_directive; }'));
    const bad = await doctor(dir, ['--json']);
    expect(bad.exitCode).toBe(1);
    expect(checksOf(bad.stdout).find((c) => c.name === 'nginx test')).toMatchObject({ level: 'fail' });
  });
});
