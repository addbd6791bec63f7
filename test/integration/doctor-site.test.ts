// zdd doctor's `nginx site` row, through the real CLI and the real `nginx -t -T`: the site zdd init
// writes (templates/nginx-site.conf), included from an nginx.conf as sites-enabled is, must serve
// <deployTo>/current/frontend and proxy to backend.port. The planted mistakes — deployTo edited in
// the config but not in the site, backend.port changed but not the upstream — are ✗ with the file
// and line to change; a config where the site cannot be told is a !, never a ✗.
import { execa } from 'execa';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/doctor/check.js';
import { renderNginxSite } from '../../src/init/render.js';
import { needsBuild, tempDirs } from '../helpers/fs.js';
import { ensureNginx, throwawayNginxConf } from '../helpers/nginx.js';
import { repoRoot } from '../helpers/pm2.js';

const bin = join(repoRoot, 'bin', 'zdd');
const tempDir = tempDirs('doctor-site');
needsBuild();

/** The site `zdd init` writes for the shop (frontend + backend), or a backend-only one. */
async function zddSite(deployTo: string, port: number, frontend = true): Promise<string> {
  return renderNginxSite(
    {
      app: 'shop',
      appFrom: 'folder',
      ...(frontend ? { frontend: { root: 'frontend', build: 'npm run build', outDir: 'dist', reason: 'test' } } : {}),
      backend: { root: 'backend', script: 'server.js', scriptFrom: 'file', port, portFrom: 'test' },
    },
    deployTo,
  );
}

/**
 * examples/shop's backend in a temp project whose nginx.test runs a real nginx on an nginx.conf
 * that includes `sites-enabled/*.conf`, holding `sites`.
 */
async function project(sites: Record<string, string>, config: { deployTo?: string; port?: number; frontend?: boolean; nginx?: boolean } = {}) {
  const nginx = await ensureNginx();
  const dir = await tempDir();
  await cp(join(repoRoot, 'examples', 'shop', 'backend'), join(dir, 'backend'), { recursive: true });
  // The frontend is only looked at (doctor does not build it): its folder must exist for the config to load.
  await mkdir(join(dir, 'frontend'));
  await writeFile(join(dir, 'frontend', 'index.html'), '<!doctype html><title>shop</title>\n');
  const prefix = join(dir, 'nginx');
  await mkdir(join(prefix, 'sites-enabled'), { recursive: true });
  await writeFile(join(prefix, 'nginx.conf'), throwawayNginxConf(prefix, ['include sites-enabled/*.conf;']));
  for (const [f, text] of Object.entries(sites)) await writeFile(join(prefix, 'sites-enabled', f), text);
  const deployTo = config.deployTo ?? '/srv/shop';
  await writeFile(
    join(dir, 'zdd.config.json'),
    JSON.stringify({
      app: 'shop',
      deployTo,
      ...(config.frontend === false ? {} : { frontend: {} }),
      backend: { script: 'server.js', port: config.port ?? 3000, killTimeout: 8000 },
      ...(config.nginx === false ? {} : { nginx: { test: `${nginx} -p ${prefix} -c ${prefix}/nginx.conf -e ${prefix}/error.log -t` } }),
    }),
  );
  return { dir, site: join(prefix, 'sites-enabled', 'shop.conf') };
}

async function doctor(dir: string): Promise<{ exitCode: number; rows: Record<string, Check>; text: string }> {
  const XDG_CACHE_HOME = await tempDir();
  const r = await execa(process.execPath, [bin, 'doctor', '--json'], { cwd: dir, reject: false, env: { CI: '1', NO_COLOR: '1', XDG_CACHE_HOME } });
  const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
  return { exitCode: r.exitCode ?? -1, rows: Object.fromEntries(checks.map((c) => [c.name, c])), text: JSON.stringify(checks, null, 2) };
}

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('doctor: the Nginx site serves this app', () => {
  it('passes the site zdd init writes, with no ✗ anywhere', async () => {
    const { dir, site } = await project({ 'shop.conf': await zddSite('/srv/shop', 3000), 'other.conf': 'server { listen 8081; root /var/www/html; }\n' });
    const r = await doctor(dir);
    expect(r.exitCode, r.text).toBe(0);
    expect(r.rows['nginx site']).toMatchObject({ level: 'ok' });
    expect(r.rows['nginx site']!.detail).toBe(
      `server shop.example.com (${site}:${lineOf(await zddSite('/srv/shop', 3000), 'server {')}), serves /srv/shop/current/frontend, proxies /api/ to 127.0.0.1:3000`,
    );
  });

  it('✗ when deployTo was changed in the config and the site still serves the old root, naming the line', async () => {
    const text = await zddSite('/srv/app', 3000);
    const { dir, site } = await project({ 'shop.conf': text }, { deployTo: '/tmp/x' });
    const r = await doctor(dir);
    expect(r.exitCode).toBe(1);
    expect(r.rows['nginx site']).toEqual({
      name: 'nginx site',
      ok: false,
      level: 'fail',
      detail: 'nginx serves root /srv/app/current/frontend, but deployTo is /tmp/x: the site would answer 404',
      fix: `change \`root\` to /tmp/x/current/frontend in ${site}:${lineOf(text, 'root /srv/app/current/frontend')}`,
    });
  });

  it('✗ when the upstream is on another port than backend.port, naming its server line', async () => {
    const text = await zddSite('/srv/shop', 3000);
    const { dir, site } = await project({ 'shop.conf': text }, { port: 3100 });
    const r = await doctor(dir);
    expect(r.exitCode).toBe(1);
    expect(r.rows['nginx site']!.detail).toBe(
      'nginx proxies /api/ to 127.0.0.1:3000 (upstream shop_backend), but backend.port is 3100: every request there would be a 502',
    );
    expect(r.rows['nginx site']!.fix).toBe(`change the port to 3100 in ${site}:${lineOf(text, 'server 127.0.0.1:3000')}`);
  });

  it('✗ both when deployTo and the port changed: the site is told by the app’s name (shop.example.com, shop_backend)', async () => {
    const { dir } = await project({ 'shop.conf': await zddSite('/srv/shop', 3000) }, { deployTo: '/tmp/y', port: 3100 });
    const r = await doctor(dir);
    expect(r.rows['nginx site']!.detail).toBe(
      'nginx serves root /srv/shop/current/frontend, but deployTo is /tmp/y: the site would answer 404; nginx proxies /api/ to 127.0.0.1:3000 (upstream shop_backend), but backend.port is 3100: every request there would be a 502',
    );
  });

  it('a backend-only site: proxies checked, no root expected', async () => {
    const { dir } = await project({ 'shop.conf': await zddSite('/srv/shop', 3000, false) }, { frontend: false });
    const r = await doctor(dir);
    expect(r.rows['nginx site'], r.text).toMatchObject({ level: 'ok' });
    expect(r.rows['nginx site']!.detail).toMatch(/proxies \/ to 127\.0\.0\.1:3000$/);
  });

  it('! (not ✗) when no server block can be told to be this app, and no row without an nginx section', async () => {
    const other = 'server { listen 8081; server_name blog; root /var/www/blog; }\nserver { listen 8082; location / { proxy_pass http://127.0.0.1:9000; } }\n';
    const { dir } = await project({ 'other.conf': other });
    const r = await doctor(dir);
    expect(r.exitCode, r.text).toBe(0);
    expect(r.rows['nginx site']).toMatchObject({ level: 'warn' });
    expect(r.rows['nginx site']!.detail).toBe(
      'could not tell which of its 2 server blocks serves this app (none has root /srv/shop/current/frontend or a proxy_pass to port 3000); not checked',
    );

    const none = await project({}, { nginx: false });
    const n = await doctor(none.dir);
    expect(n.exitCode, n.text).toBe(0);
    expect(n.rows['nginx site']).toBeUndefined();
  });
});
