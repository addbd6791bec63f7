/**
 * The corpus: projects shaped like the ones people have, each deployed the way a new user would —
 * `zdd init`, then only `deployTo` (the --deploy-to flag) and the port edited. Two are generated at
 * test time from registry packages nobody here wrote (express-generator, create-vite); the others are
 * small checked-in fixtures for the layouts the generators do not make (test/fixtures/corpus/). None
 * of them has node_modules: each deploy is a fresh checkout's.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { repoRoot } from './pm2.js';

export interface CorpusProject {
  name: string;
  layout: string;
  /** Where the project came from (a generator, a template, a fixture). */
  source: string;
  /** Writes the project into `dir` (which does not exist yet). */
  make(dir: string): Promise<void>;
  /** Changes the project so the next deploy serves `version` from the API. */
  bump(dir: string, version: string): Promise<void>;
  /** What the load asks for: a POST route and GET routes, all answering 200. */
  load: { postPath: string; directPaths: string[]; nginxPaths: string[] };
  /** The version the API serves before any bump. */
  firstVersion: string;
}

const fixtures = join(repoRoot, 'test', 'fixtures', 'corpus');
const generated = join(repoRoot, '.tmp', 'generated');
/**
 * A bin folder holding only pnpm (zdd's devDependency), for PATH: the pnpm project's commands need
 * it, and nothing else of zdd's node_modules/.bin (vite!) may be found by a project's build.
 */
export async function pnpmBin(): Promise<string> {
  const dir = join(repoRoot, '.tmp', 'pnpm-bin');
  await mkdir(dir, { recursive: true });
  await symlink(join(repoRoot, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs'), join(dir, 'pnpm')).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  return dir;
}

const EXPRESS_GENERATOR = 'express-generator@4.16.1';
const CREATE_VITE = 'create-vite@9.3.0';

async function replaceIn(file: string, search: string | RegExp, replacement: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const next = text.replace(search, replacement);
  if (next === text) throw new Error(`corpus: ${String(search)} not found in ${file}`);
  await writeFile(file, next);
}

/** Runs a generator once per test run into .tmp/generated/<name>, then copies it; `lock` writes the lockfile the user's first install would. */
async function generateOnce(name: string, run: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(generated, name);
  if (existsSync(join(dir, '.done'))) return dir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(generated, { recursive: true });
  await run(dir);
  await execa('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: dir });
  await writeFile(join(dir, '.done'), '');
  return dir;
}

const copyTree = (from: string, to: string) => cp(from, to, { recursive: true, filter: (p) => !/[/\\](node_modules|\.done)$/.test(p) });

/** create-vite's template, with the dev proxy to the API a user adds for a separate backend. */
async function viteTemplate(template: 'react' | 'react-ts', apiPort: number): Promise<string> {
  return generateOnce(`create-vite-9.3.0-${template}`, async (dir) => {
    // create-vite takes a name, not a path (it drops a leading /).
    await execa('npx', ['-y', CREATE_VITE, basename(dir), '--template', template, '--no-interactive'], { cwd: generated });
    const config = join(dir, template === 'react' ? 'vite.config.js' : 'vite.config.ts');
    await replaceIn(config, 'plugins: [react()],', `plugins: [react()],\n  server: { proxy: { '/api': 'http://localhost:${apiPort}' } },`);
  });
}

/** The routes a user adds to the Express skeleton for their API (the skeleton has /users only). */
const EXPRESS_API = `
var fs = require('fs');
var VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, 'version.json'), 'utf8')).version;
app.get('/api/version', function (req, res) { res.json({ version: VERSION }); });
app.post('/api/comments', function (req, res) { res.json({ version: VERSION, got: req.body }); });
`;

async function expressSkeleton(): Promise<string> {
  return generateOnce('express-generator-4.16.1', async (dir) => {
    await execa('npx', ['-y', EXPRESS_GENERATOR, '--no-view', dir], { cwd: generated });
    await replaceIn(join(dir, 'app.js'), 'module.exports = app;', `${EXPRESS_API}\nmodule.exports = app;`);
    // No request log: under load it would only measure the disk.
    await replaceIn(join(dir, 'app.js'), "app.use(logger('dev'));\n", '');
    await writeFile(join(dir, 'version.json'), '{ "version": "v1" }\n');
  });
}

const json = (version: string) => `${JSON.stringify({ version })}\n`;

export const corpus: CorpusProject[] = [
  {
    name: 'express-generator + create-vite react',
    layout: 'client/ + server/ (bin/www), npm lockfiles',
    source: `${EXPRESS_GENERATOR}, ${CREATE_VITE} --template react`,
    firstVersion: 'v1',
    async make(dir) {
      await copyTree(await expressSkeleton(), join(dir, 'server'));
      await copyTree(await viteTemplate('react', 3000), join(dir, 'client'));
    },
    async bump(dir, version) {
      await writeFile(join(dir, 'server', 'version.json'), json(version));
      await replaceIn(join(dir, 'client', 'src', 'App.jsx'), /<h1>[^<]*<\/h1>/, `<h1>Release ${version}</h1>`);
    },
    load: { postPath: '/api/comments', directPaths: ['/api/version', '/users'], nginxPaths: ['/', '/api/version'] },
  },
  {
    name: 'create-vite react-ts + TypeScript API',
    layout: 'web/ + api/ (tsc to dist/), npm lockfiles',
    source: `${CREATE_VITE} --template react-ts; api/ fixture`,
    firstVersion: 'v1',
    async make(dir) {
      await copyTree(await viteTemplate('react-ts', 3001), join(dir, 'web'));
      await copyTree(join(fixtures, 'ts-server'), join(dir, 'api'));
    },
    async bump(dir, version) {
      await writeFile(join(dir, 'api', 'src', 'version.ts'), `export const VERSION = '${version}';\n`);
      await replaceIn(join(dir, 'web', 'src', 'App.tsx'), /<h1>[^<]*<\/h1>/, `<h1>Release ${version}</h1>`);
    },
    load: { postPath: '/api/items', directPaths: ['/api/version', '/api/items'], nginxPaths: ['/', '/api/version'] },
  },
  {
    name: 'single package',
    layout: 'one package.json: Vite in devDependencies, the server serves build/',
    source: 'fixture single-package',
    firstVersion: 'v1',
    make: (dir) => copyTree(join(fixtures, 'single-package'), dir),
    bump: (dir, version) => writeFile(join(dir, 'src', 'version.js'), `export const version = '${version}';\n`),
    load: { postPath: '/api/notes', directPaths: ['/api/version', '/'], nginxPaths: ['/', '/api/notes'] },
  },
  {
    name: 'client/server with a data folder',
    layout: 'client/ + server/, data/ written at boot, reads ../package.json',
    source: 'fixture client-server-data',
    firstVersion: '2.3.0',
    make: (dir) => copyTree(join(fixtures, 'client-server-data'), dir),
    async bump(dir, version) {
      await replaceIn(join(dir, 'package.json'), /"version": "[^"]*"/, `"version": "${version}"`);
      await replaceIn(join(dir, 'client', 'src', 'main.js'), /Task log [^']*'/, `Task log ${version}'`);
    },
    load: { postPath: '/api/tasks', directPaths: ['/api/version', '/api/tasks'], nginxPaths: ['/', '/api/changelog'] },
  },
  {
    name: 'npm workspaces',
    layout: 'apps/web + apps/api + packages/shared, one root package-lock.json',
    source: 'fixture npm-workspace',
    firstVersion: 'v1',
    make: (dir) => copyTree(join(fixtures, 'npm-workspace'), dir),
    bump: (dir, version) => replaceIn(join(dir, 'packages', 'shared', 'index.js'), /VERSION = '[^']*'/, `VERSION = '${version}'`),
    load: { postPath: '/api/messages', directPaths: ['/api/version'], nginxPaths: ['/', '/api/version'] },
  },
  {
    name: 'pnpm workspace',
    layout: 'apps/web + apps/api + packages/shared (workspace:*), pnpm-lock.yaml',
    source: 'fixture pnpm-workspace',
    firstVersion: 'v1',
    make: (dir) => copyTree(join(fixtures, 'pnpm-workspace'), dir),
    bump: (dir, version) => replaceIn(join(dir, 'packages', 'shared', 'index.js'), /VERSION = '[^']*'/, `VERSION = '${version}'`),
    load: { postPath: '/api/messages', directPaths: ['/api/version'], nginxPaths: ['/', '/api/version'] },
  },
];
