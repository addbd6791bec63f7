import { describe, expect, it } from 'vitest';
import { detectProject } from '../../src/init/detect.js';
import { renderConfig } from '../../src/init/render.js';
import { expandMembers, pnpmWorkspacePackages } from '../../src/init/workspace.js';
import { tempDirs, writeProject } from '../helpers/fs.js';

const tempDir = tempDirs('detect-layouts');

/** A project folder from `{ path: content }`; objects are written as JSON. */
const project = (files: Record<string, string | object>) => writeProject(tempDir, files);

const SERVER =
  "const express = require('express');\nconst app = express();\napp.get('/api/health', (q, r) => r.json({ ok: true }));\napp.listen(process.env.PORT || 5000);\n";

describe('one package serving both', () => {
  it("has frontend.root and backend.root '.', the Vite outDir, and says the backend serves the build itself", async () => {
    const dir = await project({
      'package.json': {
        name: 'mono-app',
        scripts: { build: 'vite build', start: 'node server.js' },
        dependencies: { express: '^4' },
        devDependencies: { vite: '^8' },
      },
      'package-lock.json': '{}',
      'vite.config.js': "export default { build: { outDir: 'build' } }\n",
      'server.js': `${SERVER}app.use(express.static(path.join(__dirname, 'build')));\napp.get('/api/items', (q, r) => r.json([]));\n`,
    });
    const d = detectProject(dir);
    expect(d.layout).toBe('single');
    expect(d.frontend).toMatchObject({ root: '.', outDir: 'build', build: 'npm run build', install: { value: 'npm ci', from: 'from package-lock.json' } });
    // The root `build` script is the frontend's: the backend has none.
    expect(d.backend).toMatchObject({ root: '.', script: 'server.js', port: 5000, build: undefined, install: { value: 'npm ci --omit=dev' } });
    expect(d.backend!.healthcheck).toMatchObject({ path: '/api/health', fallback: false });
    expect(d.backend!.servesStatic).toEqual(['build']);
    expect(d.nginx.locations).toEqual([{ prefix: '/api/', strip: false }]);
    expect(d.nginx.notes.join('\n')).toMatch(/the backend also serves the frontend's build \(build\) itself/);
    expect(d.notes.join('\n')).toMatch(/backend copy includes the frontend's source/);
    const cfg = renderConfig(d, '/srv/mono', 'nginx/mono-app.conf');
    expect(cfg).toContain("root: '.', // copied into the release without node_modules (one package serves both");
  });
});

describe('a root package whose start script runs the server from a folder', () => {
  it('is the backend, with root . and the script in that folder', async () => {
    const d = detectProject(
      await project({
        'package.json': { name: 'rooted', scripts: { start: 'node server/index.js' }, dependencies: { express: '^4' } },
        'server/index.js': SERVER,
        'client/package.json': { devDependencies: { vite: '^8' } },
      }),
    );
    expect(d.frontend?.root).toBe('client');
    expect(d.backend).toMatchObject({ root: '.', script: 'server/index.js', port: 5000, healthcheck: { path: '/api/health', from: 'server/index.js:3' } });
    expect(d.notes.join('\n')).toMatch(/the backend is this folder's package .* includes client\/ too/);
  });
});

const PNPM_WS = {
  'package.json': { name: 'acme', private: true },
  'pnpm-workspace.yaml': "packages:\n  - 'apps/*'\n  - packages/*   # shared code\n",
  'pnpm-lock.yaml': 'lockfileVersion: 9.0\n',
  'apps/web/package.json': { name: '@acme/web', scripts: { build: 'vite build' }, devDependencies: { vite: '^8' } },
  'apps/web/vite.config.ts': "export default { server: { proxy: { '/api': 'http://localhost:3001' } } }\n",
  'apps/api/package.json': { name: '@acme/api', scripts: { start: 'node src/index.js' }, dependencies: { express: '^4', '@acme/shared': 'workspace:*' } },
  'apps/api/src/index.js': SERVER,
  'packages/shared/package.json': { name: '@acme/shared', main: 'index.js' },
  'packages/shared/index.js': 'module.exports = {};\n',
};

describe('workspaces', () => {
  it('reads pnpm-workspace.yaml packages', () => {
    expect(pnpmWorkspacePackages('packages:\n  - \'apps/*\'\n  - "tools/x" # one\nother: 1\n  - no\n')).toEqual(['apps/*', 'tools/x']);
    expect(pnpmWorkspacePackages("packages: ['a/*', 'b']\n")).toEqual(['a/*', 'b']);
  });

  it('finds the frontend and backend members of a pnpm workspace, with the root lockfile', async () => {
    const dir = await project(PNPM_WS);
    expect(expandMembers(dir, ['apps/*', 'packages/*', '!packages/shared'])).toEqual(['apps/api', 'apps/web']);
    const d = detectProject(dir);
    expect(d.layout).toBe('workspace');
    expect(d.workspace).toMatchObject({
      kind: 'pnpm',
      from: 'pnpm-workspace.yaml',
      lockfile: 'pnpm-lock.yaml',
      members: ['apps/api', 'apps/web', 'packages/shared'],
    });
    expect(d.frontend).toMatchObject({
      root: 'apps/web',
      build: 'pnpm run build',
      install: { value: 'pnpm install --frozen-lockfile', from: 'from pnpm-lock.yaml' },
    });
    expect(d.backend).toMatchObject({ root: 'apps/api', script: 'src/index.js', port: 5000 });
    expect(d.nginx.locations).toEqual([{ prefix: '/api', strip: false }]);
  });

  it("renders the install helper's shape: `workspace` and no install when the schema knows it, else a comment and the root's install", async () => {
    const d = detectProject(await project(PNPM_WS));
    const known = renderConfig(d, '/srv/acme', 'nginx/acme.conf', { include: true, workspace: true });
    expect(known).toContain("root: 'apps/api',");
    expect(known).toContain("workspace: '.', // the workspace root (pnpm-workspace.yaml, pnpm-lock.yaml)");
    expect(known).not.toMatch(/^\s+install:/m);
    expect(known).toMatch(/\/\/ install: zdd derives it from pnpm-lock.yaml/);
    const older = renderConfig(d, '/srv/acme', 'nginx/acme.conf', { include: false, workspace: false });
    expect(older).toMatch(/^\s+\/\/ workspace: '\.', .*needs a zdd that knows backend\.workspace/m);
    expect(older).toMatch(/^\s+install: 'pnpm install --frozen-lockfile --prod',/m);
  });

  it('finds the members of an npm workspace (package.json workspaces) and its lockfile', async () => {
    const d = detectProject(
      await project({
        'package.json': { name: 'npm-ws', workspaces: ['packages/*'] },
        'package-lock.json': '{}',
        'packages/client/package.json': { devDependencies: { vite: '^8' } },
        'packages/server/package.json': { main: 'app.js', dependencies: { fastify: '^5' } },
        'packages/server/app.js': "const f = require('fastify')();\nf.get('/healthz', async () => 'ok');\nf.listen({ port: 3300 });\n",
      }),
    );
    expect(d.layout).toBe('workspace');
    expect(d.workspace).toMatchObject({ kind: 'npm', from: 'package.json workspaces', lockfile: 'package-lock.json' });
    expect(d.frontend).toMatchObject({ root: 'packages/client', install: { value: 'npm ci' } });
    expect(d.backend).toMatchObject({ root: 'packages/server', script: 'app.js', port: 3300, healthcheck: { path: '/healthz' } });
  });
});

describe('state that must outlive a release', () => {
  const backend = (files: Record<string, string>) =>
    project({ 'server/package.json': { main: 'index.js' }, ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`server/${k}`, v])) });

  it('makes a data/ folder that holds only a database shared, active (shared.ts creates <deployTo>/shared/data)', async () => {
    const b = detectProject(await backend({ 'index.js': SERVER, 'data/app.db': '', 'data/.gitkeep': '' })).backend!;
    expect(b.shared).toMatchObject({ dirs: ['data'], files: [], active: true, from: ['data/ folder'] });
  });

  it('follows a variable bound to a path.join: path.join(dir, "tasks.db") is in data/, not a file beside the code', async () => {
    const b = detectProject(
      await backend({
        'index.js': `${SERVER}require('./db');`,
        'db.js': "const dir = path.join(__dirname, 'data');\nconst file = path.join(dir, 'tasks.db');\nfs.mkdirSync(dir);\n",
      }),
    ).backend!;
    expect(b.shared).toMatchObject({ dirs: ['data'], files: [], active: true, from: ['data/ in server/db.js:1'] });
  });

  it('finds a database path in the source: new Database(path.join(__dirname, "data", "app.db"))', async () => {
    const d = detectProject(
      await backend({ 'index.js': `${SERVER}require('./db');`, 'db.js': "const db = new Database(path.join(__dirname, 'data', 'app.db'));\n" }),
    );
    expect(d.backend!.shared).toMatchObject({ dirs: ['data'], active: true, from: ['data/ in server/db.js:1'] });
    expect(renderConfig(d, '/srv/x', 'nginx/x.conf')).toMatch(/dirs: \['data'\], \/\/ state that must outlive a release \(from data\/ in server\/db\.js:1\)/);
  });

  it('suggests, but does not set, a folder holding seed files, a bare SQLite file and an upload folder beside it', async () => {
    const d = detectProject(await backend({ 'index.js': `${SERVER}const upload = multer({ dest: 'uploads/' });\n`, 'data/seed.json': '[]', 'app.sqlite': '' }));
    const s = d.backend!.shared;
    expect(s).toMatchObject({ dirs: ['data', 'uploads'], files: ['app.sqlite'], active: false });
    expect(s.notes.join('\n')).toMatch(/data\/ holds seed\.json/);
    expect(s.notes.join('\n')).toMatch(/<deployTo>\/shared\/app\.sqlite before the first deploy/);
    const cfg = renderConfig(d, '/srv/x', 'nginx/x.conf');
    expect(cfg).toMatch(/files: \[\], \/\/ suggested \['app\.sqlite'\]/);
    expect(cfg).toMatch(/dirs: \[\], \/\/ suggested \['data', 'uploads'\]/);
    expect(cfg).toMatch(/\/\/ data\/ holds seed\.json/);
  });

  it('suggests nothing for a backend with no state', async () => {
    expect(detectProject(await backend({ 'index.js': SERVER })).backend!.shared).toMatchObject({ dirs: [], files: [], active: false });
  });
});

describe('files from outside the backend folder', () => {
  const files = {
    'package.json': { name: 'outside', version: '1.2.3' },
    'CHANGELOG.md': '# 1.2.3\n',
    'client/package.json': { devDependencies: { vite: '^8' } },
    'client/dist/index.html': '',
    'server/package.json': { main: 'index.js' },
    'server/index.js': `${SERVER}const { version } = require('../package.json');\nconst log = fs.readFileSync(path.join(__dirname, '..', 'CHANGELOG.md'), 'utf8');\napp.use(express.static(path.join(__dirname, '../client/dist')));\nconst missing = path.join(__dirname, '..', 'nope.txt');\n`,
  };

  it('suggests backend.include for what the backend reads there, not the frontend build nor missing files', async () => {
    const d = detectProject(await project(files));
    expect(d.backend!.include).toEqual({
      paths: ['../package.json', '../CHANGELOG.md'],
      from: ['../package.json (server/index.js:5)', '../CHANGELOG.md (server/index.js:6)'],
    });
    expect(d.backend!.notes.join('\n')).toMatch(/reads \.\.\/client\/dist, in the frontend's folder/);
  });

  it('writes backend.include active when the schema knows the key, as a comment otherwise', async () => {
    const d = detectProject(await project(files));
    expect(renderConfig(d, '/srv/o', 'nginx/o.conf', { include: true, workspace: false })).toMatch(
      /^\s+include: \['\.\.\/package\.json', '\.\.\/CHANGELOG\.md'\], \/\/ files outside root the app reads/m,
    );
    expect(renderConfig(d, '/srv/o', 'nginx/o.conf', { include: false, workspace: false })).toMatch(
      /^\s+\/\/ include: \['\.\.\/package\.json', '\.\.\/CHANGELOG\.md'\], .*needs a zdd that knows backend\.include/m,
    );
  });
});
