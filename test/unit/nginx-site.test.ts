// src/nginx/site.ts on configs shaped as `nginx -T` prints them: zdd's own site template, a
// sites-enabled layout with includes, upstream blocks and the forms `listen` takes. One case runs
// the real nginx -T so the header format is nginx's, not ours.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderNginxSite } from '../../src/init/render.js';
import { localUrl, parseListen, siteOf, siteProblems } from '../../src/nginx/site.js';
import { ensureNginx, throwawayNginxConf } from '../helpers/nginx.js';

const run = promisify(execFile);

/** The site `zdd init` writes for the shop: /api/ to the backend (no Vite proxy to say otherwise). */
async function zddSite(deployTo: string, port: number, flags = { frontend: true, backend: true }): Promise<string> {
  return renderNginxSite(
    {
      app: 'shop',
      appFrom: 'folder',
      ...(flags.frontend ? { frontend: { root: 'frontend', build: 'npm run build', outDir: 'dist', reason: 'test' } } : {}),
      ...(flags.backend ? { backend: { root: 'backend', script: 'server.js', scriptFrom: 'file', port, portFrom: 'test' } } : {}),
    },
    deployTo,
  );
}

/** What `nginx -T` prints for a main nginx.conf including sites-enabled/*, run by the real nginx. */
async function realDump(sites: Record<string, string>): Promise<{ text: string; dir: string }> {
  const nginx = await ensureNginx();
  const dir = await mkdtemp(join(tmpdir(), 'zdd-site-'));
  await mkdir(join(dir, 'sites-enabled'));
  for (const [name, text] of Object.entries(sites)) await writeFile(join(dir, 'sites-enabled', name), text);
  await writeFile(join(dir, 'nginx.conf'), throwawayNginxConf(dir, ['include sites-enabled/*.conf;']));
  const r = await run(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-t', '-T']);
  return { text: r.stdout, dir };
}

describe('siteOf on zdd’s own template through the real nginx -T', () => {
  it('finds the root, the /api/ proxy through the upstream, the listen address, with file:line', async () => {
    const { text, dir } = await realDump({ 'shop.conf': await zddSite('/srv/shop', 3100), 'other.conf': 'server { listen 8081; root /var/www/html; }\n' });
    try {
      expect(text).toContain(`# configuration file ${dir}/sites-enabled/shop.conf:`);
      const site = siteOf(text, { deployTo: '/srv/shop', port: 3100 });
      expect(site.all).toHaveLength(2);
      expect(site.servers).toHaveLength(1);
      expect(site.servesFrontend).toBe(true);
      expect(site.listen.map((l) => [l.host, l.port])).toEqual([['*', 80]]);
      expect(site.proxies).toEqual([expect.objectContaining({ location: '/api/', upstream: 'shop_backend', address: '127.0.0.1', port: 3100 })]);
      expect(site.proxies[0]!.where?.file).toBe(`${dir}/sites-enabled/shop.conf`);
      expect(siteProblems(site, { deployTo: '/srv/shop', port: 3100 })).toEqual([]);

      // deployTo edited in the config, the site left as it was: the root line is named.
      const moved = siteOf(text, { deployTo: '/tmp/x', port: 3100 });
      expect(moved.servers).toHaveLength(1);
      const [problem] = siteProblems(moved, { deployTo: '/tmp/x', port: 3100 });
      const rootLine = (await zddSite('/srv/shop', 3100)).split('\n').findIndex((l) => l.includes('root /srv/shop/current/frontend')) + 1;
      expect(problem).toBe(
        `nginx serves root /srv/shop/current/frontend, but deployTo is /tmp/x: the site would answer 404 — change \`root\` to /tmp/x/current/frontend in ${dir}/sites-enabled/shop.conf:${rootLine}`,
      );

      // backend.port edited, the upstream left on the old port.
      const [port] = siteProblems(siteOf(text, { deployTo: '/srv/shop', port: 3200 }), { deployTo: '/srv/shop', port: 3200 });
      const upLine = (await zddSite('/srv/shop', 3100)).split('\n').findIndex((l) => l.includes('server 127.0.0.1:3100')) + 1;
      expect(port).toBe(
        `nginx proxies /api/ to 127.0.0.1:3100 (upstream shop_backend), but backend.port is 3200: every request there would be a 502 — change the port to 3200 in ${dir}/sites-enabled/shop.conf:${upLine}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a backend-only site: no root expected, the proxy of location / checked', async () => {
    const conf = await zddSite('/srv/api', 4000, { frontend: false, backend: true });
    const site = siteOf(conf, { deployTo: '/srv/api', port: 4000, frontend: false });
    expect(site.servers).toHaveLength(1);
    expect(site.proxies.map((p) => [p.location, p.port])).toEqual([['/', 4000]]);
    expect(siteProblems(site, { deployTo: '/srv/api', port: 4000, frontend: false })).toEqual([]);
    expect(siteProblems(site, { deployTo: '/srv/api', port: 4001, frontend: false })[0]).toMatch(/backend\.port is 4001/);
  });
});

const dump = (files: Record<string, string>) =>
  Object.entries(files)
    .map(([f, t]) => `# configuration file ${f}:\n${t}\n`)
    .join('\n');

describe('siteOf on a Debian-style nginx -T', () => {
  const debian = dump({
    '/etc/nginx/nginx.conf': [
      'user www-data;',
      'events { worker_connections 768; }',
      'http {',
      '    include /etc/nginx/mime.types;',
      '    include /etc/nginx/conf.d/*.conf;',
      '    include /etc/nginx/sites-enabled/*;',
      '}',
    ].join('\n'),
    '/etc/nginx/mime.types': 'types {\n    text/html html;\n}',
    '/etc/nginx/sites-enabled/default':
      'server {\n\tlisten 80 default_server;\n\tlisten [::]:80 default_server;\n\troot /var/www/html;\n\tserver_name _;\n\tlocation / { try_files $uri $uri/ =404; }\n}',
    '/etc/nginx/sites-enabled/app': [
      'upstream "app_up" {',
      '    server localhost:3000 max_fails=0;',
      '}',
      'server {',
      '    listen 127.0.0.1:8080;',
      '    listen [::1]:8443 ssl http2;',
      '    server_name app.example.com www.app.example.com;',
      '    location / {',
      '        root "/srv/app/current/frontend/";',
      '        try_files $uri /index.html;',
      '    }',
      '    location ~ ^/(api|ws)/ { proxy_pass http://app_up; }',
      '    location = /healthz { proxy_pass http://127.0.0.1:3000/healthz; }',
      '}',
    ].join('\n'),
  });

  it('picks the app’s server out of the default site, per-location root, both proxies', () => {
    const site = siteOf(debian, { deployTo: '/srv/app', port: 3000 });
    expect(site.all).toHaveLength(2);
    expect(site.servers.map((s) => s.names[0])).toEqual(['app.example.com']);
    expect(site.identifiedBy).toBe('root /srv/app/current/frontend and proxy_pass to port 3000');
    expect(site.roots.map((r) => [r.path, r.location])).toEqual([['/srv/app/current/frontend', '/']]);
    expect(site.proxies.map((p) => [p.location, p.address, p.port, p.where?.line])).toEqual([
      ['~ ^/(api|ws)/', 'localhost', 3000, 2],
      ['= /healthz', '127.0.0.1', 3000, 13],
    ]);
    expect(site.listen.map(localUrl)).toEqual(['http://127.0.0.1:8080', 'https://[::1]:8443']);
    expect(siteProblems(site, { deployTo: '/srv/app', port: 3000 })).toEqual([]);
  });

  it('names the root and the upstream line of the right file after deployTo and the port changed', () => {
    const expect2 = { deployTo: '/opt/app', port: 3100, app: 'app' };
    const site = siteOf(debian, expect2);
    expect(site.identifiedBy).toBe('a root ending in /current/frontend, named for app');
    const problems = siteProblems(site, expect2);
    expect(problems[0]).toContain('change `root` to /opt/app/current/frontend in /etc/nginx/sites-enabled/app:9');
    expect(problems[1]).toContain('nginx proxies ~ ^/(api|ws)/ to localhost:3000 (upstream app_up), but backend.port is 3100');
    expect(problems[1]).toContain('/etc/nginx/sites-enabled/app:2');
  });

  it('never takes the distro’s default site, nor another zdd app’s, for this one', () => {
    const lone = siteOf(debian.replace(/# configuration file \/etc\/nginx\/sites-enabled\/app:[\s\S]*$/, ''), { deployTo: '/srv/app', port: 3000, app: 'app' });
    expect(lone.all).toHaveLength(1);
    expect(lone.servers).toEqual([]);
    // Both deployTo and the port differ from the other app's site, and it is not named for this app.
    expect(siteOf(debian, { deployTo: '/srv/shop', port: 4000, app: 'shop' }).servers).toEqual([]);
  });

  it('no false alarm when the site cannot be identified: only other apps’ servers', () => {
    const only = dump({
      '/etc/nginx/nginx.conf': 'events {}\nhttp {\n  include /etc/nginx/sites-enabled/*;\n}',
      '/etc/nginx/sites-enabled/a': 'server { listen 80; root /var/www/a; }',
      '/etc/nginx/sites-enabled/b': 'server { listen 81; location / { proxy_pass http://127.0.0.1:9000; } }',
    });
    const site = siteOf(only, { deployTo: '/srv/app', port: 3000 });
    expect(site.servers).toEqual([]);
    expect(site.all).toHaveLength(2);
    expect(siteProblems(site, { deployTo: '/srv/app', port: 3000 })).toEqual([]);
  });

  it('an include that matches no printed file and a commented-out root are ignored', () => {
    const text = dump({
      '/etc/nginx/nginx.conf':
        'events {}\nhttp {\n  include /etc/nginx/none/*.conf;\n  server {\n    # root /srv/app/current/frontend;\n    root /srv/app/current/frontend; # the real one\n  }\n}',
    });
    const site = siteOf(text, { deployTo: '/srv/app' });
    expect(site.roots.map((r) => [r.path, r.where?.line])).toEqual([['/srv/app/current/frontend', 6]]);
    expect(site.servesFrontend).toBe(true);
  });
});

describe('siteOf on zdd’s own join of nginx.config files', () => {
  it('reads `# <file>` headers as files when told their names', () => {
    const text = '# deploy/nginx.conf\nserver {\n  listen 8080;\n  root /srv/x/current/frontend;\n  location /api/ { proxy_pass http://127.0.0.1:3000; }\n}';
    const site = siteOf(text, { deployTo: '/srv/x', port: 3000 }, { files: ['deploy/nginx.conf'] });
    expect(site.roots[0]?.where).toEqual({ file: 'deploy/nginx.conf', line: 3 });
    expect(site.proxies[0]?.port).toBe(3000);
  });
});

describe('parseListen', () => {
  it.each([
    [['80'], '*', 80, false],
    [['127.0.0.1:8080'], '127.0.0.1', 8080, false],
    [['[::]:443', 'ssl', 'http2'], '[::]', 443, true],
    [['[::1]'], '[::1]', 80, false],
    [['localhost'], 'localhost', 80, false],
    [['*:8000', 'default_server'], '*', 8000, false],
    [['unix:/run/app.sock'], 'unix:/run/app.sock', undefined, false],
  ])('%j', (args, host, port, ssl) => {
    expect(parseListen(args)).toMatchObject({ host, port, ssl });
  });
});
