import { execa } from 'execa';
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { detectProject, entryFromStartScript, portFromSource, renderTemplate, sanitizeAppName, viteOutDir } from '../../src/init/detect.js';
import { repoRoot } from '../helpers/pm2.js';
import { needsBuild, tempDirs } from '../helpers/fs.js';
import { throwawayNginxConf } from '../helpers/nginx.js';

const bin = join(repoRoot, 'bin', 'zdd');
const fixture = join(repoRoot, 'test', 'fixtures', 'sample-project');

const tempDir = tempDirs('init');
needsBuild();
/** The sample project copied into a fresh folder outside the repository. */
async function sampleProject(): Promise<string> {
  const d = join(await tempDir(), 'sample');
  await cp(fixture, d, { recursive: true });
  return d;
}
function zdd(cwd: string, ...args: string[]) {
  return execa('node', [bin, ...args], { cwd, reject: false, env: { CI: '1', NO_COLOR: '1' } });
}
/** `nginx -t` on a throwaway nginx.conf that includes `site` in its http block (nginx is part of the test set-up). */
async function expectNginxAccepts(site: string): Promise<void> {
  expect((await execa('nginx', ['-v'], { reject: false })).exitCode, 'nginx -v (scripts/test.sh installs nginx)').toBe(0);
  const prefix = await tempDir();
  const conf = throwawayNginxConf(prefix, [`include ${site};`]);
  await writeFile(join(prefix, 'nginx.conf'), conf);
  const t = await execa('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-t'], { reject: false });
  expect(t.exitCode, t.stderr).toBe(0);
}
async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, JSON.stringify(value, null, 2));
}

describe('detection helpers', () => {
  it('sanitises app names', () => {
    expect(sanitizeAppName('@acme/Sample_Shop')).toBe('sample-shop');
    expect(sanitizeAppName('My App 2!')).toBe('my-app-2');
    expect(sanitizeAppName('---')).toBe('');
  });
  it('reads a plain outDir from a vite config', () => {
    expect(viteOutDir(`export default { build: { outDir: 'build' } }`)).toBe('build');
    expect(viteOutDir(`build: { outDir: "../public/app", }`)).toBe('../public/app');
    expect(viteOutDir(`build: { outDir: path.resolve(__dirname, '../server/public') }`)).toBe('../server/public');
    expect(viteOutDir(`build: { outDir: resolve(root, 'x') }`)).toBeUndefined();
  });
  it('parses the entry of a start script', () => {
    expect(entryFromStartScript('node server.js')).toBe('server.js');
    expect(entryFromStartScript('NODE_ENV=production node --enable-source-maps dist/index.js')).toBe('dist/index.js');
    expect(entryFromStartScript('node -r dotenv/config ./app.mjs')).toBe('app.mjs');
    expect(entryFromStartScript('nodemon')).toBeUndefined();
  });
  it('finds a port default', () => {
    expect(portFromSource('const port = process.env.PORT || 4000;')).toBe(4000);
    expect(portFromSource("const port = Number(process.env.PORT ?? '8080');")).toBe(8080);
    expect(portFromSource('const PORT = 5001;')).toBe(5001);
    expect(portFromSource('server.listen(process.env.PORT)')).toBeUndefined();
  });
  it('renders sections and refuses unknown placeholders', () => {
    const t = 'a {{x}}\n{{#on}}\nyes\n{{/on}}\n{{^on}}\nno\n{{/on}}';
    expect(renderTemplate(t, { x: '1' }, { on: true })).toBe('a 1\nyes');
    expect(renderTemplate(t, { x: '1' }, { on: false })).toBe('a 1\nno');
    expect(() => renderTemplate('{{y}}', {})).toThrow(/no value/);
  });
  it('detects the sample project', () => {
    const d = detectProject(fixture);
    expect(d.app).toBe('sample-shop');
    expect(d.frontend).toMatchObject({ root: 'frontend', build: 'npm run build', outDir: 'build' });
    expect(d.backend).toMatchObject({ root: 'backend', script: 'server.js', scriptFrom: 'start script "NODE_ENV=production node server.js"', port: 4100 });
    expect(d.backend?.build).toBeUndefined();
  });
});

describe('zdd init', () => {
  it('writes a config that loads and an nginx site for the sample project', async () => {
    const dir = await sampleProject();
    const r = await zdd(dir, 'init');
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('wrote zdd.config.ts');
    expect(r.stdout).toContain('wrote nginx/sample-shop.conf');
    expect(r.stdout).toMatch(/zdd doctor/);
    expect(r.stdout).toMatch(/zdd deploy/);

    const text = await readFile(join(dir, 'zdd.config.ts'), 'utf8');
    expect(text).toContain("import { defineConfig } from 'zdd';");

    const config = await loadConfig({ cwd: dir });
    expect(config.app).toBe('sample-shop');
    expect(config.deployTo).toBe('/srv/sample-shop');
    expect(config.frontend?.build).toBe('npm run build');
    expect(config.frontend?.outDir).toBe('build');
    expect(config.frontend?.root).toBe(join(dir, 'frontend'));
    expect(config.backend?.script).toBe('server.js');
    expect(config.backend?.port).toBe(4100);
    expect(config.backend?.build).toBeUndefined();
    expect(config.nginx?.test).toBe('nginx -t');

    const site = await readFile(join(dir, 'nginx', 'sample-shop.conf'), 'utf8');
    expect(site).toContain('root /srv/sample-shop/current/frontend;');
    expect(site).toMatch(/location \/assets\/ \{[^}]*Cache-Control "public, max-age=31536000, immutable"[^}]*try_files \$uri =404;/);
    expect(site).toMatch(/location \/ \{[^}]*Cache-Control "no-cache"[^}]*try_files \$uri \/index\.html;/);
    expect(site).toMatch(/location = \/index\.html \{[^}]*Cache-Control "no-cache"/);
    expect(site).toContain('gzip_static on;');
    expect(site).toMatch(/upstream sample-shop_backend \{\s*server 127\.0\.0\.1:4100;[\s\S]*keepalive 32;/);
    expect(site).toMatch(/location \/api\/ \{[^}]*proxy_pass http:\/\/sample-shop_backend;/);
    expect(site).toContain('proxy_http_version 1.1;');
    expect(site).toMatch(/map \$http_upgrade \$(\w+) \{\s*default upgrade;\s*''\s+'';\s*\}/);
    expect(site).toMatch(/proxy_set_header Connection \$sample_shop_connection_upgrade;/);
    expect(site).toContain('proxy_next_upstream error timeout http_502;');
    expect(site).toContain('proxy_next_upstream_tries 3;');
    expect(site).toMatch(/open_file_cache/);
    expect(site).not.toMatch(/\{\{/);
  });

  it('writes a site that nginx -t accepts', async () => {
    const dir = await sampleProject();
    expect((await zdd(dir, 'init', '--deploy-to', '/opt/apps/shop')).exitCode).toBe(0);
    const site = join(dir, 'nginx', 'sample-shop.conf');
    expect(await readFile(site, 'utf8')).toContain('root /opt/apps/shop/current/frontend;');
    await expectNginxAccepts(site);
  });

  it('refuses to overwrite without --force (exit 2, nothing written) and overwrites with it', async () => {
    const dir = await sampleProject();
    const configPath = join(dir, 'zdd.config.ts');
    await writeFile(configPath, '// mine\n');
    const before = await stat(configPath);

    const r = await zdd(dir, 'init');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('zdd.config.ts');
    expect(r.stdout).toMatch(/--force/);
    expect(await readFile(configPath, 'utf8')).toBe('// mine\n');
    expect((await stat(configPath)).mtimeMs).toBe(before.mtimeMs);
    // Refused before writing anything: not even the nginx file that did not exist.
    expect(existsSync(join(dir, 'nginx', 'sample-shop.conf'))).toBe(false);

    const f = await zdd(dir, 'init', '--force', '--deploy-to', '/opt/shop');
    expect(f.exitCode, f.stdout).toBe(0);
    expect(f.stdout).toContain('overwrote zdd.config.ts');
    expect(await readFile(configPath, 'utf8')).toContain("deployTo: '/opt/shop'");
    expect(existsSync(join(dir, 'nginx', 'sample-shop.conf'))).toBe(true);
  });

  it('refuses when only the nginx file exists, leaving both untouched', async () => {
    const dir = await sampleProject();
    await mkdir(join(dir, 'nginx'));
    await writeFile(join(dir, 'nginx', 'sample-shop.conf'), '# mine\n');
    const r = await zdd(dir, 'init');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('nginx/sample-shop.conf');
    expect(existsSync(join(dir, 'zdd.config.ts'))).toBe(false);
    expect(await readFile(join(dir, 'nginx', 'sample-shop.conf'), 'utf8')).toBe('# mine\n');
  });

  it('exits 2 with a clear message when there is neither a frontend nor a backend', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'package.json'), { name: 'empty' });
    const r = await zdd(dir, 'init');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/neither a Vite frontend nor a Node backend/);
    expect(existsSync(join(dir, 'zdd.config.ts'))).toBe(false);
  });

  it('handles a root Vite app and a TypeScript backend built to dist', async () => {
    const dir = join(await tempDir(), 'My Project');
    await writeJson(join(dir, 'package.json'), { scripts: {}, devDependencies: { vite: '^8' } });
    await writeJson(join(dir, 'server', 'package.json'), { scripts: { build: 'tsc', start: 'node dist/index.js' } });
    await mkdir(join(dir, 'server', 'src'), { recursive: true });
    await writeFile(join(dir, 'server', 'src', 'index.ts'), 'const port = Number(process.env.PORT) || 8081;\n');
    const r = await zdd(dir, 'init', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { detected: { app: string } };
    expect(doc.detected.app).toBe('my-project');
    const config = await loadConfig({ cwd: dir });
    expect(config.frontend).toMatchObject({ root: dir, build: 'npx vite build', outDir: 'dist' });
    expect(config.backend).toMatchObject({ root: join(dir, 'server'), script: 'dist/index.js', port: 8081, build: 'npm run build' });
  });

  it('writes a backend-only config and site', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'package.json'), { name: 'api-only' });
    await writeJson(join(dir, 'api', 'package.json'), { main: 'app.js' });
    await writeFile(join(dir, 'api', 'app.js'), '');
    const r = await zdd(dir, 'init');
    expect(r.exitCode, r.stdout).toBe(0);
    const config = await loadConfig({ cwd: dir });
    expect(config.frontend).toBeUndefined();
    expect(config.backend).toMatchObject({ script: 'app.js', port: 3000 });
    const site = await readFile(join(dir, 'nginx', 'api-only.conf'), 'utf8');
    expect(site).not.toContain('current/frontend');
    expect(site).toMatch(/location \/ \{[^}]*proxy_pass http:\/\/api-only_backend;/);
    await expectNginxAccepts(join(dir, 'nginx', 'api-only.conf'));
  });

  it('asks no code change of a backend that neither sends ready nor drains: zdd makes it reload-safe at deploy', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'package.json'), { name: 'plain' });
    await writeJson(join(dir, 'server', 'package.json'), { main: 'index.js' });
    await writeFile(join(dir, 'server', 'index.js'), "require('node:http').createServer((q, r) => r.end()).listen(3000);\n");
    const r = await zdd(dir, 'init');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toContain('zdd makes it reload-safe at deploy (backend.reloadSafe, on by default)');
    expect(r.stdout).not.toContain("require('./reload-safe.mjs')");
    await expect(readFile(join(dir, 'server', 'reload-safe.mjs'), 'utf8')).rejects.toThrow(/ENOENT/);
    expect((await loadConfig({ cwd: dir })).backend?.reloadSafe).toBe(true);
  });

  it('does not offer the helper to a backend that already sends ready and handles SIGINT', async () => {
    const d = await sampleProject();
    const r = await zdd(d, 'init', '--deploy-to', '/srv/sample');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).not.toContain('reload-safe');
    expect(r.stdout).not.toContain('reload safety');
  });

  it('writes a frontend-only config and site', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'package.json'), { name: 'static-site' });
    await writeJson(join(dir, 'web', 'package.json'), { scripts: { build: 'vite build' } });
    await writeFile(join(dir, 'web', 'vite.config.mjs'), 'export default {};\n');
    const r = await zdd(dir, 'init');
    expect(r.exitCode, r.stdout).toBe(0);
    const config = await loadConfig({ cwd: dir });
    expect(config.backend).toBeUndefined();
    expect(config.frontend).toMatchObject({ root: join(dir, 'web'), build: 'npm run build', outDir: 'dist' });
    const site = await readFile(join(dir, 'nginx', 'static-site.conf'), 'utf8');
    expect(site).not.toContain('proxy_pass');
    expect(site).not.toContain('upstream');
    await expectNginxAccepts(join(dir, 'nginx', 'static-site.conf'));
  });

  it('on an express-generator skeleton: entry bin/www, its port, a stand-in health route said so, the mounted path in Nginx, and the checks of what it wrote', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'package.json'), { name: 'eg-app', private: true });
    await writeJson(join(dir, 'server', 'package.json'), { scripts: { start: 'node ./bin/www' }, dependencies: { express: '~4.16.1' } });
    await mkdir(join(dir, 'server', 'bin'), { recursive: true });
    await mkdir(join(dir, 'server', 'routes'), { recursive: true });
    await writeFile(
      join(dir, 'server', 'app.js'),
      "var express = require('express');\nvar usersRouter = require('./routes/users');\nvar app = express();\napp.use('/users', usersRouter);\nmodule.exports = app;\n",
    );
    await writeFile(
      join(dir, 'server', 'bin', 'www'),
      "#!/usr/bin/env node\nvar app = require('../app');\nvar port = normalizePort(process.env.PORT || '3000');\nrequire('http').createServer(app).listen(port);\n",
    );
    await writeFile(
      join(dir, 'server', 'routes', 'users.js'),
      "var router = require('express').Router();\nrouter.get('/', function (req, res) { res.send('users'); });\nmodule.exports = router;\n",
    );
    await writeJson(join(dir, 'client', 'package.json'), { scripts: { build: 'vite build' }, devDependencies: { vite: '^8' } });
    await writeFile(join(dir, 'client', 'vite.config.js'), 'export default {};\n');

    const r = await zdd(dir, 'init');
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('backend: server/ — script bin/www (from start script "node ./bin/www"), port 3000 (from server/bin/www:3)');
    expect(r.stdout).toContain('healthcheck: no health route found; using /users (a route that answers, server/routes/users.js:2) — add one');
    expect(r.stdout).toMatch(/nginx: \/users → backend \(a guess: no Vite proxy/);
    expect(r.stdout).toContain('server/bin/www neither sends ready nor drains on SIGINT');
    expect(r.stdout).not.toContain('app.js neither');
    expect(r.stdout).toMatch(/✓ config\s+zdd\.config\.ts \(app eg-app\)/);
    expect(r.stdout).toMatch(/✓ sessions/);

    const config = await loadConfig({ cwd: dir });
    expect(config.backend).toMatchObject({ script: 'bin/www', port: 3000, install: 'npm install --omit=dev' });
    expect(config.healthcheck.path).toBe('/users');
    const site = join(dir, 'nginx', 'eg-app.conf');
    expect(await readFile(site, 'utf8')).toMatch(/location \/users \{\s*proxy_pass http:\/\/eg-app_backend;/);
    await expectNginxAccepts(site);
  });

  it('gives Nginx one location per Vite proxy key (a stripped prefix included) that nginx -t accepts', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'package.json'), { name: 'proxied' });
    await writeJson(join(dir, 'web', 'package.json'), { devDependencies: { vite: '^8' } });
    await writeFile(
      join(dir, 'web', 'vite.config.ts'),
      "export default { server: { proxy: { '/api': 'http://localhost:4000', '/socket.io': { target: 'ws://localhost:4000', ws: true }, '/old': { target: 'http://localhost:4000', rewrite: (p) => p.replace(/^\\/old/, '') }, '^/re/.*': 'http://x' } } };\n",
    );
    await writeJson(join(dir, 'api', 'package.json'), { main: 'index.js' });
    await writeFile(
      join(dir, 'api', 'index.js'),
      "require('http').createServer((req, res) => { if (req.url === '/api/health') res.end('ok'); }).listen(process.env.PORT);\n",
    );
    const r = await zdd(dir, 'init');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toContain('nginx: /api, /socket.io, /old (prefix stripped) → backend (server.proxy in web/vite.config.ts)');
    expect(r.stdout).toContain('healthcheck: /api/health (from api/index.js:1)');
    expect(r.stdout).toMatch(/port 4000 \(from proxy target in web\/vite\.config\.ts\)/);
    const site = join(dir, 'nginx', 'proxied.conf');
    expect(await readFile(site, 'utf8')).toMatch(/location \/old\/ \{\s*proxy_pass http:\/\/proxied_backend\/;/);
    await expectNginxAccepts(site);
    expect((await loadConfig({ cwd: dir })).healthcheck.path).toBe('/api/health');
  });

  it('writes a shared dir for a database folder and a config that still loads', async () => {
    const dir = await tempDir();
    await writeJson(join(dir, 'package.json'), { name: 'with-db' });
    await writeJson(join(dir, 'backend', 'package.json'), { main: 'server.js' });
    await writeFile(join(dir, 'backend', 'server.js'), "const db = new Database('data/app.db');\nrequire('http').createServer().listen(3000);\n");
    const r = await zdd(dir, 'init');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toContain('shared: data/ must outlive a release (from data/ in backend/server.js:1); shared.dirs set to data');
    expect((await loadConfig({ cwd: dir })).shared).toEqual({ files: [], dirs: ['data'] });
  });
});
