import { describe, expect, it } from 'vitest';
import { detectProject } from '../../src/init/detect.js';
import { buildMap, builtFile, parseStartScript } from '../../src/init/entry.js';
import { viteProxy } from '../../src/init/frontend.js';
import { portInSource } from '../../src/init/port.js';
import { renderConfig, renderNginxSite } from '../../src/init/render.js';
import { renderTemplate } from '../../src/init/template.js';
import { tempDirs, writeProject } from '../helpers/fs.js';

const tempDir = tempDirs('detect');

/** A project folder from `{ path: content }`; objects are written as JSON. */
const project = (files: Record<string, string | object>) => writeProject(tempDir, files);

/** The files express-generator 4.16 writes with --no-view (app.js only exports the app; bin/www listens). */
const EXPRESS_GENERATOR = {
  'server/package.json': { name: 'server', private: true, scripts: { start: 'node ./bin/www' }, dependencies: { express: '~4.16.1' } },
  'server/app.js':
    "var express = require('express');\nvar path = require('path');\nvar indexRouter = require('./routes/index');\nvar usersRouter = require('./routes/users');\nvar app = express();\napp.use(express.static(path.join(__dirname, 'public')));\napp.use('/', indexRouter);\napp.use('/users', usersRouter);\nmodule.exports = app;\n",
  'server/bin/www':
    "#!/usr/bin/env node\nvar app = require('../app');\nvar http = require('http');\nvar port = normalizePort(process.env.PORT || '3000');\napp.set('port', port);\nvar server = http.createServer(app);\nserver.listen(port);\n",
  'server/routes/index.js':
    "var express = require('express');\nvar router = express.Router();\nrouter.get('/', function(req, res, next) {\n  res.render('index', { title: 'Express' });\n});\nmodule.exports = router;\n",
  'server/routes/users.js':
    "var express = require('express');\nvar router = express.Router();\nrouter.get('/', function(req, res, next) {\n  res.send('respond with a resource');\n});\nmodule.exports = router;\n",
  'client/package.json': { name: 'client', scripts: { build: 'vite build' }, devDependencies: { vite: '^8' } },
  'client/vite.config.js': "import { defineConfig } from 'vite'\nexport default defineConfig({})\n",
};

describe('the entry', () => {
  it('is bin/www for an express-generator skeleton (start script), with its port, a stand-in health route and the mounted path', async () => {
    const d = detectProject(await project(EXPRESS_GENERATOR));
    expect(d.layout).toBe('separate');
    expect(d.backend).toMatchObject({
      root: 'server',
      script: 'bin/www',
      scriptFrom: 'start script "node ./bin/www"',
      port: 3000,
      portFrom: 'server/bin/www:4',
    });
    expect(d.backend!.notes.join('\n')).not.toMatch(/only exports/);
    // routes/users.js answers with res.send; routes/index.js renders a view (no engine with --no-view).
    expect(d.backend!.healthcheck).toEqual({ path: '/users', from: 'server/routes/users.js:3', fallback: true });
    expect(d.nginx.locations).toEqual([{ prefix: '/users', strip: false }]);
    expect(d.nginx.from).toMatch(/^a guess: no Vite proxy/);
  });

  it('trusts the start script over main, and says when a file only exports', async () => {
    const skeleton = { ...EXPRESS_GENERATOR, 'server/package.json': { main: 'app.js', scripts: { start: 'node ./bin/www' } } };
    expect(detectProject(await project(skeleton)).backend).toMatchObject({ script: 'bin/www', scriptFrom: 'start script "node ./bin/www"' });

    const noStart = await project({
      'api/package.json': { main: 'app.js' },
      'api/app.js': "const express = require('express');\nconst app = express();\napp.get('/healthz', (q, r) => r.send('ok'));\nmodule.exports = app;\n",
      'api/server.js': "const app = require('./app');\napp.listen(process.env.PORT || 8080);\n",
    });
    const b = detectProject(noStart).backend!;
    expect(b).toMatchObject({ script: 'server.js', scriptFrom: 'file', port: 8080 });
    expect(b.notes.join('\n')).toMatch(/app\.js \(main\) only exports, it starts no server .* using server\.js, which does/);
    expect(b.healthcheck).toMatchObject({ path: '/healthz', fallback: false });
  });

  it('parses start scripts: env prefixes, runners, files without extension, option values', () => {
    expect(parseStartScript('PORT=4000 node x.js')).toEqual({ file: 'x.js', env: { PORT: '4000' }, runner: 'node' });
    expect(parseStartScript('cross-env NODE_ENV=production PORT=4001 nodemon src/app.js')).toMatchObject({ file: 'src/app.js', env: { PORT: '4001' } });
    expect(parseStartScript('node ./bin/www')?.file).toBe('bin/www');
    expect(parseStartScript('node -r dotenv/config ./app.mjs')?.file).toBe('app.mjs');
    expect(parseStartScript('tsx watch src/index.ts')).toMatchObject({ file: 'src/index.ts', runner: 'tsx' });
    expect(parseStartScript('npm run build && node --enable-source-maps dist/index.js')?.file).toBe('dist/index.js');
    expect(parseStartScript('node .')).toBeUndefined();
    expect(parseStartScript('vite preview')).toBeUndefined();
  });

  it('maps a tsc backend through tsconfig outDir/rootDir, with the build script of its package manager', async () => {
    const dir = await project({
      'backend/package.json': { scripts: { build: 'tsc -p tsconfig.build.json', start: 'node build/index.js' }, dependencies: { express: '^5' } },
      'backend/tsconfig.build.json':
        '{\n  // comments and trailing commas, as tsconfig allows\n  "compilerOptions": { "outDir": "./build", "rootDir": "./src", },\n}\n',
      'backend/pnpm-lock.yaml': 'lockfileVersion: 9.0\n',
      'backend/src/index.ts':
        "import express from 'express';\nimport { health } from './health.js';\nconst PORT = 5005;\nconst app = express();\napp.use('/api', health);\napp.listen(PORT);\n",
      'backend/src/health.ts':
        "import { Router } from 'express';\nexport const health = Router();\nhealth.get('/health', (_q, r) => { r.json({ ok: true }); });\n",
    });
    const b = detectProject(dir).backend!;
    expect(b).toMatchObject({ script: 'build/index.js', source: 'src/index.ts', port: 5005, portFrom: 'backend/src/index.ts:3', build: 'pnpm run build' });
    expect(b.builtBy).toBe('tsconfig.build.json outDir build, rootDir src');
    expect(b.install).toEqual({ value: 'pnpm install --frozen-lockfile --prod', from: 'from backend/pnpm-lock.yaml' });
    // `health` is imported by name, not mounted from a default export: found at its own path.
    expect(b.healthcheck).toMatchObject({ path: '/health', from: 'backend/src/health.ts:3', fallback: false });
  });

  it("reads outDir from a tsconfig's relative extends", async () => {
    const dir = await project({
      'server/package.json': { scripts: { build: 'tsc', start: 'node out/main.js' } },
      'server/tsconfig.json': '{ "extends": "./tsconfig.base.json", "include": ["src"] }',
      'server/tsconfig.base.json': '{ "compilerOptions": { "outDir": "out", "rootDir": "src" } }',
      'server/src/main.ts': 'app.listen(4321);\n',
    });
    expect(detectProject(dir).backend).toMatchObject({
      script: 'out/main.js',
      source: 'src/main.ts',
      port: 4321,
      builtBy: 'tsconfig.json outDir out, rootDir src',
    });
  });

  it('maps a tsx start script to what tsc builds, and an esbuild bundle to its outfile', async () => {
    const tsx = await project({
      'server/package.json': { scripts: { build: 'tsc', start: 'tsx src/server.ts' } },
      'server/tsconfig.json': JSON.stringify({ compilerOptions: { outDir: 'dist' }, include: ['src'] }),
      'server/src/server.ts': "import http from 'node:http';\nhttp.createServer((q, r) => r.end()).listen(Number(process.env.PORT ?? 7001));\n",
    });
    expect(detectProject(tsx).backend).toMatchObject({ script: 'dist/server.js', source: 'src/server.ts', port: 7001, build: 'npm run build' });

    const es = await project({
      'api/package.json': { scripts: { build: 'esbuild src/index.ts --bundle --platform=node --outfile=dist/server.js', start: 'node dist/server.js' } },
      'api/yarn.lock': '',
      'api/src/index.ts':
        "import Fastify from 'fastify';\nconst app = Fastify();\napp.get('/healthz', async () => 'ok');\napp.listen({ port: 8088, host: '0.0.0.0' });\n",
    });
    const b = detectProject(es).backend!;
    expect(b).toMatchObject({ script: 'dist/server.js', source: 'src/index.ts', port: 8088, build: 'yarn build', builtBy: 'build script (esbuild)' });
    expect(b.install.value).toBe('yarn install --frozen-lockfile --production');
    expect(b.healthcheck).toMatchObject({ path: '/healthz', fallback: false });
    expect(buildMap('/nowhere', 'tsup src/main.ts --format cjs -d out')).toMatchObject({ tool: 'tsup', entry: 'src/main.ts', outDir: 'out' });
    expect(builtFile({ tool: 'tsc', outDir: 'dist', rootDir: 'src', from: '' }, 'src/a/b.mts')).toBe('dist/a/b.mjs');
  });
});

describe('the port', () => {
  it('comes from the start script before the code, then the code in its forms', async () => {
    const dir = await project({
      'server/package.json': { scripts: { start: 'PORT=4000 node server.js' } },
      'server/server.js': "require('http').createServer().listen(process.env.PORT || 3999);\n",
    });
    expect(detectProject(dir).backend).toMatchObject({ port: 4000, portFrom: 'start script "PORT=4000 node server.js"' });
    expect(portInSource('app.listen(4000, () => {})')).toEqual({ port: 4000, line: 1 });
    expect(portInSource('\nawait app.listen({ host: "0.0.0.0", port: 3100 })')).toEqual({ port: 3100, line: 2 });
    expect(portInSource('PORT: z.coerce.number().default(8123),')?.port).toBe(8123);
    expect(portInSource('server.listen(process.env.PORT)')).toBeUndefined();
  });
});

describe('the health route', () => {
  const backend = (files: Record<string, string>) =>
    project({
      'server/package.json': { main: 'index.js' },
      ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`server/${k}`, v])),
    });
  it.each([
    [
      'a router mounted from a file',
      { 'index.js': "const api = require('./routes/api');\napp.use('/api', api);\napp.listen(1);", 'routes/api.js': "router.get('/health', h);" },
      '/api/health',
    ],
    [
      'a router of the same file',
      { 'index.js': "const api = express.Router();\napi.get('/health', h);\napp.use('/api', api);\napp.listen(1);" },
      '/api/health',
    ],
    ['an inline require mount', { 'index.js': "app.use('/v1', require('./r'));\napp.listen(1);", 'r.js': "router.get('/healthz', h);" }, '/v1/healthz'],
    [
      'fastify with a prefix',
      {
        'index.js': "fastify.register(require('./status'), { prefix: '/api' });\nfastify.listen({ port: 1 });",
        'status.js': "module.exports = async (f) => { f.get('/status', h); };",
      },
      '/api/status',
    ],
    ['plain http', { 'index.js': "require('http').createServer((req, res) => { if (req.url === '/ping') return res.end('pong'); }).listen(1);" }, '/ping'],
    [
      'a Koa router with a prefix',
      { 'index.js': "const router = new Router({ prefix: '/api' });\nrouter.get('/healthz', h);\napp.use(router.routes());\napp.listen(1);" },
      '/api/healthz',
    ],
    [
      'a Hono sub-app',
      {
        'index.js': "import api from './api.js';\napp.route('/api', api);\nserve({ fetch: app.fetch, port: 1 });",
        'api.js': "const api = new Hono();\napi.get('/health', (c) => c.text('ok'));\nexport default api;",
      },
      '/api/health',
    ],
    ['router.route()', { 'index.js': "app.route('/status').get(h);\napp.listen(1);" }, '/status'],
    [
      'an ESM import',
      { 'index.js': "import health from './health.js';\napp.use('/internal', health);\napp.listen(1);", 'health.js': "r.get('/ready', h);" },
      '/internal/ready',
    ],
  ])('is found in %s', async (_name, files, path) => {
    const b = detectProject(await backend(files)).backend!;
    expect(b.healthcheck).toMatchObject({ path, fallback: false });
  });

  it('falls back to a static GET route that answers, never a parameter or a view', async () => {
    const b = detectProject(
      await backend({
        'index.js': "app.get('/', (q, r) => r.render('home'));\napp.get('/api/items/:id', h);\napp.get('/api/items', (q, r) => r.json([]));\napp.listen(1);",
      }),
    ).backend!;
    expect(b.healthcheck).toEqual({ path: '/api/items', from: 'server/index.js:3', fallback: true });
    const cfg = renderConfig(detectProject(await backend({ 'index.js': "app.get('/api/items', h);\napp.listen(1);" })), '/srv/x', 'nginx/x.conf');
    expect(cfg).toContain("path: '/api/items', // no health route found; /api/items answers (server/index.js:1) — add a /healthz route and put it here");
  });
});

describe("Vite's dev proxy", () => {
  const VITE = `export default defineConfig({
  server: {
    proxy: {
      '/api': { target: 'http://localhost:4000', changeOrigin: true },
      "/socket.io": { target: 'ws://localhost:4000', ws: true },
      '^/auth/.*': { target: 'http://localhost:4000' },
      '/legacy': { target: 'http://localhost:4000', rewrite: (p) => p.replace(/^\\/legacy/, '') },
      '/plain': 'http://localhost:4000',
    },
  },
  build: { outDir: '../server/public' },
})`;
  it('names the backend paths; regex keys are skipped, a rewrite that strips the prefix is kept', () => {
    expect(viteProxy(VITE)).toEqual({
      paths: [
        { prefix: '/api', strip: false },
        { prefix: '/socket.io', strip: false },
        { prefix: '/legacy', strip: true },
        { prefix: '/plain', strip: false },
      ],
      skipped: ['^/auth/.*'],
      port: 4000,
    });
    expect(viteProxy('server: { proxy: proxyTable }')).toEqual({ paths: [], skipped: [], unreadable: true });
  });

  it('gives one Nginx location per prefix, and the port when the backend says none', async () => {
    const d = detectProject(
      await project({
        'package.json': { name: 'proxied' },
        'web/package.json': { devDependencies: { vite: '^8' } },
        'web/vite.config.ts': VITE,
        'server/package.json': { main: 'index.js' },
        'server/index.js': "require('http').createServer().listen(process.env.PORT);\n",
      }),
    );
    expect(d.frontend).toMatchObject({ outDir: '../server/public', outDirFrom: 'from web/vite.config.ts' });
    expect(d.backend).toMatchObject({ port: 4000, portFrom: 'proxy target in web/vite.config.ts' });
    expect(d.nginx.from).toBe('server.proxy in web/vite.config.ts');
    expect(d.nginx.notes.join('\n')).toMatch(/\^\/auth\/\.\* skipped/);
    const site = renderNginxSite(d, '/srv/proxied');
    expect(site).toMatch(/location \/api \{\s*proxy_pass http:\/\/proxied_backend;/);
    expect(site).toMatch(/location \/socket\.io \{\s*proxy_pass http:\/\/proxied_backend;/);
    expect(site).toMatch(/location \/legacy\/ \{\s*proxy_pass http:\/\/proxied_backend\/;/);
    expect(site).not.toMatch(/location \/api\/ \{/);
    expect(site.match(/proxy_pass /g)).toHaveLength(4);
  });
});

describe('renderTemplate', () => {
  it('repeats a list section per item, inside kept sections only', () => {
    const t = '{{#on}}\n{{*xs}}\n- {{a}} {{b}}\n{{/xs}}\n{{/on}}\nend';
    expect(renderTemplate(t, { b: 'B' }, { on: true }, { xs: [{ a: '1' }, { a: '2' }] })).toBe('- 1 B\n- 2 B\nend');
    expect(renderTemplate(t, { b: 'B' }, { on: false }, { xs: [{ a: '1' }] })).toBe('end');
    expect(() => renderTemplate('{{*ys}}\nx\n{{/ys}}', {})).toThrow(/unknown list ys/);
  });
});
