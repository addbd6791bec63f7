// A fresh checkout deploys with `zdd deploy --ci`: no node_modules anywhere, outside this repository
// (so nothing resolves from zdd's own node_modules), the real CLI and a private PM2. The example app
// with a frontend that declares its own vite/react and a lockfile; and an npm workspace generated
// here whose backend member needs a workspace package, a built entry (its build needs a dev
// dependency) and a file from outside its folder.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INSTALL_MARKER } from '../../src/build/build-install.js';
import { copyExample } from '../helpers/example.js';
import { httpGet } from '../helpers/load.js';
import { repoRoot, tempPm2Home, type TempPm2Home } from '../helpers/pm2.js';
import { freePort } from '../helpers/ports.js';
import { zddBin } from '../helpers/site.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function outsideRepo(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function pm2(): Promise<TempPm2Home> {
  const p = await tempPm2Home();
  cleanups.push(() => p.kill());
  return p;
}

const zdd = (p: TempPm2Home, cwd: string, args: string[]) =>
  execa(process.execPath, [zddBin, ...args, '--ci'], { cwd, env: { ...p.env, CI: '1' }, reject: false, all: true, timeout: 240_000 });

/** The version zdd's own tests build the example with. */
const installed = (pkg: string) => JSON.parse(readFileSync(join(repoRoot, 'node_modules', pkg, 'package.json'), 'utf8')).version as string;

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('a fresh checkout deploys (no node_modules anywhere)', () => {
  it('the example app: install-frontend installs from the frontend lockfile, then skips while it is unchanged', async () => {
    const work = await outsideRepo('zdd-fresh-');
    const app = join(work, 'app');
    const port = await freePort();
    await copyExample(app, { version: 'v1', deployTo: join(work, 'deploy'), backendPort: port });
    // copyExample links zdd's node_modules into a copy outside the repo: a checkout has none.
    await rm(join(app, 'frontend', 'node_modules'), { force: true, recursive: true });
    const pkgFile = join(app, 'frontend', 'package.json');
    const pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
    pkg.dependencies = { react: installed('react'), 'react-dom': installed('react-dom') };
    pkg.devDependencies = { vite: installed('vite'), '@vitejs/plugin-react': installed('@vitejs/plugin-react') };
    await writeFile(pkgFile, JSON.stringify(pkg, null, 2));
    await execa('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: join(app, 'frontend') });
    expect(await exists(join(app, 'frontend', 'node_modules'))).toBe(false);
    const p = await pm2();

    const r = await zdd(p, app, ['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/done {2}install-frontend \([^)]*\) — installed in .*\/frontend/);
    const marker = JSON.parse(await readFile(join(app, 'frontend', INSTALL_MARKER), 'utf8'));
    expect(marker).toMatchObject({ command: 'npm ci', node: process.version });
    const current = join(work, 'deploy', 'current');
    expect(await readFile(join(current, 'frontend', 'index.html'), 'utf8')).toContain('content="v1"');
    expect(JSON.parse((await httpGet(`http://127.0.0.1:${port}/api/version`)).body)).toMatchObject({ version: 'v1' });

    // A new version with the same lockfile: the install is skipped, the build runs.
    await writeFile(join(app, 'frontend', 'src', 'version.json'), '{"version":"v2"}\n');
    const again = await zdd(p, app, ['deploy']);
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toMatch(/skip {2}install-frontend — node_modules up to date \(same package-lock\.json, package\.json, command and Node/);
    expect(await readFile(join(current, 'frontend', 'index.html'), 'utf8')).toContain('content="v2"');
  });

  it('an npm workspace: the member with the workspace package it needs, its build, a file from outside it', async () => {
    const work = await outsideRepo('zdd-fresh-ws-');
    const app = join(work, 'app');
    const port = await freePort();
    const files: Record<string, unknown> = {
      'package.json': { name: 'ws', private: true, version: '1.2.3', workspaces: ['packages/*'] },
      'CHANGELOG.md': '# 1.2.3\n',
      'packages/server/package.json': {
        name: '@ws/server',
        version: '1.0.0',
        scripts: { build: 'node build.js' },
        dependencies: { '@ws/shared': '*' },
        devDependencies: { 'is-number': '7.0.0' },
      },
      // The build needs a dev dependency (as tsc would); the entry it writes reads the workspace package and ../../CHANGELOG.md.
      'packages/server/build.js': `require('is-number');
const fs = require('node:fs');
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/server.js', fs.readFileSync('src.js', 'utf8'));
`,
      'packages/server/src.js': `const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { answer } = require('@ws/shared');
const changelog = fs.readFileSync(path.join(__dirname, '../../../CHANGELOG.md'), 'utf8').trim();
let devInstalled = true;
try { require.resolve('is-number'); } catch { devInstalled = false; }
http.createServer((req, res) => res.end(JSON.stringify({ answer, changelog, devInstalled }))).listen(Number(process.env.PORT));
`,
      'packages/shared/package.json': { name: '@ws/shared', version: '1.0.0', main: 'index.js' },
      'packages/shared/index.js': 'exports.answer = 42;\n',
      'packages/web/package.json': { name: '@ws/web', version: '1.0.0' },
      'zdd.config.json': {
        app: 'fresh-ws',
        deployTo: join(work, 'deploy'),
        backend: {
          root: 'packages/server',
          workspace: '.',
          build: 'npm run build',
          script: 'dist/server.js',
          port,
          instances: 1,
          include: ['../../CHANGELOG.md'],
        },
        rollout: { bake: 0 },
      },
    };
    for (const [rel, body] of Object.entries(files)) {
      await mkdir(join(app, rel, '..'), { recursive: true });
      await writeFile(join(app, rel), typeof body === 'string' ? body : JSON.stringify(body, null, 2));
    }
    await execa('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: app });
    const p = await pm2();

    const r = await zdd(p, app, ['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/done {2}install-backend-build .* — installed in /);
    expect(r.all).toContain('start install — npm ci --omit=dev --workspace packages/server');
    const body = JSON.parse((await httpGet(`http://127.0.0.1:${port}/`)).body);
    expect(body).toEqual({ answer: 42, changelog: '# 1.2.3', devInstalled: false });

    const current = join(work, 'deploy', 'current');
    expect((await lstat(join(current, 'backend'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(current, 'backend'))).toBe('workspace/packages/server');
    // Only the member and what it needs: no other member, no dev dependency.
    expect(await exists(join(current, 'workspace', 'packages', 'shared', 'index.js'))).toBe(true);
    expect(await exists(join(current, 'workspace', 'packages', 'web'))).toBe(false);
    expect(await exists(join(current, 'workspace', 'node_modules', 'is-number'))).toBe(false);
    // PM2 runs it through current/backend.
    const jlist = (await execa(join(repoRoot, 'node_modules', '.bin', 'pm2'), ['jlist'], { env: p.env })).stdout;
    const list = JSON.parse(jlist.slice(jlist.indexOf('[{')));
    expect(list[0].pm2_env.pm_exec_path).toBe(join(current, 'backend', 'dist', 'server.js'));
  });
});
