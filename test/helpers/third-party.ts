/**
 * Backends nobody here wrote, generated at test time from the npm registry: the Express skeleton of
 * express-generator (entry `bin/www`, CommonJS), with the routes the load and the site helpers use
 * added, and, per variant, the shutdown code real apps have. Generated once per run into
 * `.tmp/generated/`, then copied into each site.
 */
import { execa } from 'execa';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './pm2.js';

const GENERATOR = 'express-generator@4.16.1';
const cacheDir = join(repoRoot, '.tmp', 'generated', 'express-4.16.1');

/**
 * - `unmodified`: no `ready`, no SIGINT handler (what every real app read for zdd does);
 * - `own-close`: the classic `process.on('SIGINT', () => server.close(() => process.exit(0)))`,
 *   which on Node >= 19 closes idle keep-alive connections at once;
 * - `runtime`: made reload-safe with zdd's runtime helper, as the README says.
 */
export type ExpressVariant = 'unmodified' | 'own-close' | 'runtime';

/** The routes the tests need, added to the generated app.js as a user would add their API. */
const ROUTES = `
var fs = require('fs');
var VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, 'version.json'), 'utf8')).version;
function version() { return VERSION; }
app.get('/healthz', function (req, res) { res.send('ok'); });
app.get('/api/version', function (req, res) { res.json({ version: version(), release: process.env.ZDD_RELEASE || null, pid: process.pid }); });
app.post('/api/echo', function (req, res) { res.json({ version: version(), got: req.body }); });
`;

async function generate(): Promise<string> {
  if (existsSync(join(cacheDir, 'package-lock.json'))) return cacheDir;
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(join(cacheDir, '..'), { recursive: true });
  await execa('npx', ['-y', GENERATOR, '--no-view', cacheDir], { cwd: join(cacheDir, '..') });
  // The lockfile `npm ci` needs, as the user's first `npm install` would write it.
  await execa('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: cacheDir });
  return cacheDir;
}

/** Writes the generated Express backend, as `variant`, into `backendDir` (replacing what is there). */
export async function writeExpressBackend(backendDir: string, variant: ExpressVariant, version: string): Promise<void> {
  const src = await generate();
  await rm(backendDir, { recursive: true, force: true });
  await cp(src, backendDir, { recursive: true, filter: (p) => !p.includes('node_modules') });
  const appJs = join(backendDir, 'app.js');
  // No request log: under load it would only measure the disk. Nothing else of the app changes.
  const app = (await readFile(appJs, 'utf8')).replace("app.use(logger('dev'));\n", '');
  await writeFile(appJs, app.replace('module.exports = app;', `${ROUTES}\nmodule.exports = app;`));
  const www = join(backendDir, 'bin', 'www');
  let entry = await readFile(www, 'utf8');
  if (variant === 'own-close') {
    entry += `
process.on('SIGINT', function () {
  console.log('own handler: closing the server');
  server.close(function () {
    console.log('own handler: closed, cleanup done');
    process.exit(0);
  });
});
`;
  } else if (variant === 'runtime') {
    await cp(join(repoRoot, 'templates', 'reload-safe.mjs'), join(backendDir, 'reload-safe.mjs'));
    entry = entry.replace('server.listen(port);', "server.listen(port);\nimport('../reload-safe.mjs').then(function (m) { m.reloadSafe(server); });");
  }
  await writeFile(www, entry);
  await writeFile(join(backendDir, 'version.json'), `${JSON.stringify({ version })}\n`);
}

/** The zdd config of such a backend: what `zdd init` detects for it (entry bin/www, npm ci). */
export const expressBackendConfig = { script: 'bin/www', install: 'npm ci --omit=dev --no-audit --no-fund' };
