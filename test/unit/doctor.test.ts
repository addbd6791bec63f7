import { execa } from 'execa';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkDeployTo, checkNode, findOnPath, findOpenFileCache, type Check } from '../../src/doctor/doctor.js';
import type { ZddConfig } from '../../src/config/schema.js';
import { repoRoot } from '../helpers/pm2.js';

const bin = join(repoRoot, 'bin', 'zdd');
const fixture = join(repoRoot, 'test', 'fixtures', 'sample-project');

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'zdd-doctor-'));
  dirs.push(d);
  return d;
}

/** A project with the sample backend and a zdd.config.json built from `config`. */
async function project(config: Record<string, unknown>): Promise<{ dir: string; configPath: string }> {
  const dir = await tempDir();
  await cp(join(fixture, 'backend'), join(dir, 'backend'), { recursive: true });
  const configPath = join(dir, 'zdd.config.json');
  await writeFile(configPath, JSON.stringify({ app: 'doc-test', backend: { script: 'server.js', port: 4100 }, ...config }, null, 2));
  return { dir, configPath };
}

/** A PATH with node and nothing else: no nginx, no pm2, not even sh. */
async function pathWithOnlyNode(): Promise<string> {
  const d = await tempDir();
  await symlink(process.execPath, join(d, 'node'));
  return d;
}

function doctor(cwd: string, args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [bin, 'doctor', ...args], { cwd, reject: false, env: { CI: '1', NO_COLOR: '1', ...env } });
}

function checksOf(stdout: string): Check[] {
  return (JSON.parse(stdout) as { checks: Check[] }).checks;
}

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist', 'bundle', 'cli.js'))) throw new Error('build first: npm run build');
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('doctor checks', () => {
  it('wants node 20.19 or newer', () => {
    expect(checkNode('20.19.0').level).toBe('ok');
    expect(checkNode('22.1.0').level).toBe('ok');
    const old = checkNode('20.18.3');
    expect(old.level).toBe('fail');
    expect(old.fix).toBeTruthy();
    expect(checkNode('18.20.0').ok).toBe(false);
  });

  it('finds programs on the given PATH only', async () => {
    const only = await pathWithOnlyNode();
    expect(findOnPath('node', only)).toBe(join(only, 'node'));
    expect(findOnPath('nginx', only)).toBeUndefined();
  });

  it('spots an open_file_cache that is on, not one that is off or commented', () => {
    expect(findOpenFileCache('http {\n  open_file_cache max=1000 inactive=20s;\n}')).toBe('open_file_cache max=1000 inactive=20s;');
    expect(findOpenFileCache('server {\n  open_file_cache off;\n  # open_file_cache max=10;\n  open_file_cache_valid 30s;\n}')).toBeUndefined();
  });

  it('checks write access to deployTo or its nearest existing parent, creating nothing', async () => {
    const d = await tempDir();
    const target = join(d, 'a', 'b');
    const c = await checkDeployTo({ app: 'x', deployTo: target } as ZddConfig);
    expect(c.level).toBe('ok');
    expect(c.detail).toContain(d);
    expect(existsSync(join(d, 'a'))).toBe(false);

    await writeFile(join(d, 'file'), '');
    expect((await checkDeployTo({ app: 'x', deployTo: join(d, 'file', 'x') } as ZddConfig)).level).toBe('fail');
    expect((await checkDeployTo({ app: 'x', deployTo: 'relative/dir' } as ZddConfig)).level).toBe('fail');
  });

  it.skipIf(process.getuid?.() === 0)('fails on a deployTo whose parent is not writable', async () => {
    const d = await tempDir();
    const ro = join(d, 'ro');
    await mkdir(ro, { mode: 0o555 });
    const c = await checkDeployTo({ app: 'x', deployTo: join(ro, 'app') } as ZddConfig);
    expect(c.level).toBe('fail');
    expect(c.fix).toMatch(/mkdir -p/);
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
    const { dir, configPath } = await project({ deployTo: join(await tempDir(), 'srv') });
    const r = await doctor(dir, ['--config', configPath, '--json'], { PATH: await pathWithOnlyNode() });
    expect(r.exitCode, r.stderr).toBe(0);
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
    if ((await execa('nginx', ['-v'], { reject: false })).exitCode !== 0) return; // no nginx here
    const prefix = await tempDir();
    const conf = [
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/error.log;`,
      'events {}',
      'http {',
      '  access_log off;',
      '  open_file_cache max=1000 inactive=20s;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/${t};`),
      '}',
    ].join('\n');
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
