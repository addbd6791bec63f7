// zdd doctor stages the backend as the deploy does (a copy without node_modules, `backend.install`
// in it, the shared links) and boots that, through the real CLI and a real npm. The planted
// mistakes: a package the entry needs that is only in devDependencies, install scripts npm refuses
// (strict-allow-scripts) or runs unapproved, a database written inside the app's folder. And no ✗
// on the example apps and on an express-generator skeleton, whose working trees have no node_modules.
import { execa } from 'execa';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/doctor/check.js';
import { needsBuild, tempDirs } from '../helpers/fs.js';
import { repoRoot } from '../helpers/pm2.js';
import { expressBackendConfig, writeExpressBackend } from '../helpers/third-party.js';

const bin = join(repoRoot, 'bin', 'zdd');
const tempDir = tempDirs('doctor-stage');
needsBuild();

const server = (before = '') => `'use strict';
const http = require('node:http');
${before}
const server = http.createServer((req, res) => res.end('ok'));
server.listen(process.env.PORT, () => process.send?.('ready'));
process.on('SIGINT', () => server.close(() => setTimeout(() => process.exit(0), 1000)));
`;

/** A local package (`file:` dependency) whose install script writes built.txt, which its index.js reads: a native module in small. */
async function nativeish(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'nativeish', version: '1.0.0', scripts: { install: "node -e \"require('fs').writeFileSync('built.txt','ok')\"" } }),
  );
  await writeFile(join(dir, 'index.js'), "module.exports = require('fs').readFileSync(require('path').join(__dirname, 'built.txt'), 'utf8');\n");
}

/** A backend with `pkg` as its package.json and server.js, a lockfile as `npm install` writes it, and the default install (`npm ci --omit=dev`). */
async function project(pkg: Record<string, unknown>, source: string, files: Record<string, string> = {}, config: Record<string, unknown> = {}) {
  const dir = await tempDir();
  const backend = join(dir, 'backend');
  await mkdir(backend);
  await writeFile(join(backend, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, ...pkg }, null, 2));
  await writeFile(join(backend, 'server.js'), source);
  for (const [f, text] of Object.entries(files)) await writeFile(join(backend, f), text);
  return { dir, backend, write: () => writeConfig(dir, config) };
}

async function writeConfig(dir: string, config: Record<string, unknown>) {
  const { backend, ...rest } = config;
  await writeFile(
    join(dir, 'zdd.config.json'),
    JSON.stringify({
      app: 'staged',
      deployTo: join(dir, 'deploy'),
      backend: { script: 'server.js', port: 4300, readyTimeout: 5000, killTimeout: 4000, ...(backend as object) },
      ...rest,
    }),
  );
}

async function lock(backend: string) {
  await execa('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: backend });
}

async function doctor(dir: string, cache?: string) {
  const XDG_CACHE_HOME = cache ?? (await tempDir());
  const r = await execa(process.execPath, [bin, 'doctor', '--json'], { cwd: dir, reject: false, env: { CI: '1', NO_COLOR: '1', XDG_CACHE_HOME } });
  const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
  return { exitCode: r.exitCode ?? -1, rows: Object.fromEntries(checks.map((c) => [c.name, c])), text: JSON.stringify(checks, null, 2), checks };
}

const noFail = (checks: Check[]) => checks.filter((c) => c.level === 'fail');

describe('doctor boots a staged copy, installed as the release is', () => {
  it('✗ a package the entry needs that is only in devDependencies, naming it', async () => {
    const p = await project({ devDependencies: { helper: 'file:./vendor/helper' } }, server("require('helper');"));
    await mkdir(join(p.backend, 'vendor', 'helper'), { recursive: true });
    await writeFile(join(p.backend, 'vendor', 'helper', 'package.json'), JSON.stringify({ name: 'helper', version: '1.0.0' }));
    await writeFile(join(p.backend, 'vendor', 'helper', 'index.js'), 'module.exports = 1;\n');
    await lock(p.backend);
    await p.write();
    // The working tree has it installed (a developer's `npm install`): booting that would pass.
    await execa('npm', ['install', '--no-audit', '--no-fund'], { cwd: p.backend });
    const r = await doctor(p.dir);
    expect(r.exitCode, r.text).toBe(1);
    expect(r.rows['app boot']).toMatchObject({ level: 'fail' });
    expect(r.rows['app boot']!.detail).toMatch(
      /^booted a staged copy installed with `npm ci --omit=dev` \(\d+\.\d s\): it exited \(code 1\) before answering \/healthz: Error: Cannot find module 'helper'/,
    );
    expect(r.rows['app boot']!.detail).toMatch(
      / — helper is needed at run time, but it is in devDependencies; the release installs with `npm ci --omit=dev`, which leaves it out$/,
    );
    expect(r.rows['app boot']!.fix).toBe('move helper to dependencies: `npm install --save-prod helper` in backend');
  });

  it('✗ install scripts npm refuses (strict-allow-scripts), with the approve command', async () => {
    const p = await project({ dependencies: { nativeish: 'file:./vendor/nativeish' } }, server("require('nativeish');"));
    await nativeish(join(p.backend, 'vendor', 'nativeish'));
    await lock(p.backend);
    // After the lockfile: with it on, npm refuses even `npm install --package-lock-only`.
    await writeFile(join(p.backend, '.npmrc'), 'strict-allow-scripts=true\n');
    await p.write();
    const r = await doctor(p.dir);
    expect(r.exitCode, r.text).toBe(1);
    expect(r.rows['app boot']!.detail).toMatch(
      /^`npm ci --omit=dev` exited with 1 in a staged copy of backend \(as the release installs it\): npm error code ESTRICTALLOWSCRIPTS/,
    );
    expect(r.rows['install scripts']).toEqual({
      name: 'install scripts',
      ok: false,
      level: 'fail',
      detail:
        "npm refused the install: the install scripts of nativeish@1.0.0 are not covered by allowScripts and strict-allow-scripts is on (the deploy's install fails the same way)",
      fix: 'in backend: `npm install-scripts approve nativeish`, then commit package.json (its allowScripts goes with the release)',
    });

    // The fix, as a user would run it (approve reads the installed tree): then the staged install passes.
    await execa('npm', ['install', '--dangerously-allow-all-scripts', '--no-audit', '--no-fund'], { cwd: p.backend });
    await execa('npm', ['install-scripts', 'approve', 'nativeish'], { cwd: p.backend });
    const fixed = await doctor(p.dir);
    expect(noFail(fixed.checks), fixed.text).toEqual([]);
    expect(fixed.rows['install scripts']).toBeUndefined();
  });

  it('! install scripts npm 11 ran without approval (its default), the app booting with what they built; cached the second time', async () => {
    const p = await project({ dependencies: { nativeish: 'file:./vendor/nativeish' } }, server("require('nativeish');"));
    await nativeish(join(p.backend, 'vendor', 'nativeish'));
    await lock(p.backend);
    await p.write();
    const cache = await tempDir();
    const r = await doctor(p.dir, cache);
    expect(noFail(r.checks), r.text).toEqual([]);
    expect(r.rows['app boot']!.detail).toMatch(
      /^booted a staged copy installed with `npm ci --omit=dev` \(\d+\.\d s; cached for the next doctor\): sent 'ready'/,
    );
    expect(r.rows['install scripts']).toMatchObject({ level: 'warn' });
    expect(r.rows['install scripts']!.detail).toMatch(/^npm ran the install scripts of nativeish@1\.0\.0 with a warning: allowScripts does not cover them/);
    expect(r.rows['install scripts']!.fix).toMatch(/npm install-scripts approve nativeish/);
    expect(await readdir(join(cache, 'zdd', 'doctor'))).toHaveLength(1);

    // Same lockfile, package.json, command and Node: node_modules from the cache, and the same notice (its log is kept).
    const again = await doctor(p.dir, cache);
    expect(again.rows['app boot']!.detail).toMatch(
      /^booted a staged copy with node_modules from doctor's cache \(same lockfile, package.json, `npm ci --omit=dev` and Node\)/,
    );
    expect(again.rows['install scripts']).toMatchObject({ level: 'warn' });
  });

  it('! a database the app writes inside its own folder, with the shared.dirs line; ✓ once data is shared', async () => {
    const db =
      "const fs = require('node:fs');\nfs.mkdirSync(__dirname + '/data', { recursive: true });\nfs.writeFileSync(__dirname + '/data/app.db', 'SQLite format 3');";
    const p = await project({}, server(db));
    await lock(p.backend);
    await p.write();
    const r = await doctor(p.dir);
    expect(noFail(r.checks), r.text).toEqual([]);
    expect(r.rows['app state']).toEqual({
      name: 'app state',
      ok: true,
      level: 'warn',
      detail:
        'while it ran, the app wrote data/app.db inside its own folder: a database or uploads there stays in that release, and the next deploy starts without it',
      fix: "shared: { dirs: ['data'] } keeps it in <deployTo>/shared across releases; or write it outside the app's folder",
    });
    // Nothing was written into the working tree: the staged copy took it.
    expect(await readdir(p.backend)).not.toContain('data');

    await writeConfig(p.dir, { shared: { dirs: ['data'] } });
    const shared = await doctor(p.dir);
    expect(shared.rows['app state'], shared.text).toMatchObject({ level: 'ok' });
  });
});

describe('doctor: what the working tree has and a release does not', () => {
  it('✗ a file the app reads beside its folder (../package.json), with the backend.include line', async () => {
    const read = "const { version } = JSON.parse(require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'package.json'), 'utf8'));";
    const p = await project({}, server(read));
    await writeFile(join(p.dir, 'package.json'), JSON.stringify({ name: 'root', version: '2.3.4' }));
    await lock(p.backend);
    await p.write();
    const r = await doctor(p.dir);
    expect(r.exitCode, r.text).toBe(1);
    expect(r.rows['app boot']!.detail).toMatch(
      /ENOENT: no such file or directory, open '[^']+\/release\/package\.json' — the app reads \.\.\/package\.json, outside backend\.root: a release holds only backend\.root's files, so it is not there$/,
    );
    expect(r.rows['app boot']!.fix).toBe("have the release carry it (backend.include: ['../package.json']), or move it into backend");
  });
});

describe('doctor gives no false ✗ on real projects without node_modules in the working tree', () => {
  it.each(['shop', 'ws-app'])('examples/%s', async (name) => {
    const dir = await tempDir();
    const example = join(repoRoot, 'examples', name);
    await cp(join(example, 'backend'), join(dir, 'backend'), { recursive: true, filter: (s) => !s.includes('node_modules') });
    const { $schema: _s, frontend: _f, ...config } = JSON.parse(await readFile(join(example, 'zdd.config.json'), 'utf8'));
    await writeFile(join(dir, 'zdd.config.json'), JSON.stringify({ ...config, deployTo: join(dir, 'deploy') }));
    const r = await doctor(dir);
    expect(noFail(r.checks), r.text).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.rows['app boot']!.detail).toMatch(/^booted a staged copy installed with `npm ci --omit=dev --no-audit --no-fund`/);
  });

  it('an express-generator skeleton (entry bin/www, express in dependencies)', async () => {
    const dir = await tempDir();
    await writeExpressBackend(join(dir, 'backend'), 'unmodified', '1.0.0');
    await writeConfig(dir, { backend: { ...expressBackendConfig, killTimeout: 8000 } });
    const r = await doctor(dir);
    expect(noFail(r.checks), r.text).toEqual([]);
    expect(r.rows['app boot']!.detail).toMatch(
      /^booted a staged copy installed with `npm ci --omit=dev --no-audit --no-fund` \(\d+\.\d s; cached for the next doctor\)/,
    );
  }, 180_000);
});
