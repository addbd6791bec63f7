// Frontend continuity end to end: the real CLI, PM2 and an Nginx running the site file `zdd init`
// writes (templates/nginx-site.conf). After deploys v1 -> v2 -> v3 the v1 entry file and its lazy
// chunk still load; HTML is no-cache, assets immutable, .gz served to gzip clients; pruning a
// release keeps what the kept ones need.
import { execa } from 'execa';
import http from 'node:http';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderNginxSite } from '../../src/commands/init.js';
import { setVersion } from '../helpers/example.js';
import { makeSite, type Site } from '../helpers/site.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET that shows the bytes as sent (Node's http never decodes Content-Encoding). */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
  });
}

/** The harness's nginx.conf with its upstream and server replaced by the site file `zdd init` writes. */
async function useTemplate(site: Site): Promise<void> {
  const harness = await readFile(site.nginx.confPath, 'utf8');
  const cut = harness.indexOf('    upstream zdd_backend {');
  expect(cut).toBeGreaterThan(0);
  const siteConf = renderNginxSite(
    {
      app: 'shop',
      appFrom: 'folder',
      frontend: { root: 'frontend', build: 'npm run build', outDir: 'dist', reason: 'test' },
      backend: { root: 'backend', script: 'server.js', scriptFrom: 'file', port: site.backendPort, portFrom: 'test' },
    },
    site.deployTo,
  );
  expect(siteConf).toContain('listen 80;');
  const conf = `${harness.slice(0, cut) + siteConf.replace('listen 80;', `listen 127.0.0.1:${site.nginx.port};`)}\n}\n`;
  await writeFile(site.nginx.confPath, conf);
  await execa('sh', ['-c', site.nginx.testCmd]);
  await execa('sh', ['-c', site.nginx.reloadCmd]);
  await new Promise((r) => setTimeout(r, 1000));
}

/** Makes the lazy Reports chunk differ per version (its hash changes with each release). */
async function setReports(app: string, version: string): Promise<void> {
  const file = join(app, 'frontend', 'src', 'Reports.jsx');
  const src = await readFile(file, 'utf8');
  await writeFile(file, src.replace(/<h2>Reports[^<]*<\/h2>/, `<h2>Reports (build ${version})</h2>`));
}

describe('old tabs keep working: carry-over, caching, precompression (real Nginx with the init template)', () => {
  let site: Site;
  const builds: Record<string, { id: string; entry: string; lazy: string; entryBody: Buffer; lazyBody: Buffer; output: string }> = {};

  const currentId = async () => (await execa('readlink', [join(site.deployTo, 'current')])).stdout.trim().replace('releases/', '');

  async function deploy(v: string) {
    await setVersion(site.app, v);
    await setReports(site.app, v);
    const r = await site.zdd(['deploy']);
    expect(r.exitCode, r.all).toBe(0);
    const id = await currentId();
    const fe = join(site.deployTo, 'releases', id, 'frontend');
    const html = await readFile(join(fe, 'index.html'), 'utf8');
    const entry = /<script[^>]+type="module"[^>]+src="([^"]+)"/.exec(html)?.[1];
    expect(entry, html).toMatch(/^\/assets\/index-[\w-]+\.js$/);
    const manifest = JSON.parse(await readFile(join(site.deployTo, 'releases', id, 'frontend-files.json'), 'utf8')) as { own: string[] };
    const lazy = manifest.own.find((f) => /^assets\/Reports-[\w-]+\.js$/.test(f));
    expect(lazy, manifest.own.join('\n')).toBeDefined();
    builds[v] = {
      id,
      entry: entry!,
      lazy: `/${lazy}`,
      entryBody: await readFile(join(fe, entry!)),
      lazyBody: await readFile(join(fe, lazy!)),
      output: r.all,
    };
    expect(await site.served()).toMatchObject({ page: v, api: v });
  }

  beforeAll(async () => {
    site = await makeSite({ version: 'v1', config: { backend: { readyTimeout: 5000, killTimeout: 4000 }, healthcheck: { timeout: 5000 } } });
    await useTemplate(site);
  });

  afterAll(async () => {
    await site?.stop();
  });

  it('deploys v1, v2, v3; each build has its own entry and lazy chunk', async () => {
    for (const v of ['v1', 'v2', 'v3']) await deploy(v);
    expect(new Set(['v1', 'v2', 'v3'].map((v) => builds[v]!.entry)).size).toBe(3);
    expect(new Set(['v1', 'v2', 'v3'].map((v) => builds[v]!.lazy)).size).toBe(3);
    expect(builds.v1!.output).not.toMatch(/carried/);
    expect(builds.v2!.output).toMatch(/carried \d+ files? \([\d.]+ (?:B|KiB|MiB)\) from 1 release as hard links \(no extra disk space\)/);
    expect(builds.v3!.output).toMatch(/carried \d+ files? \([\d.]+ (?:B|KiB|MiB)\) from 2 releases as hard links \(no extra disk space\)/);
    expect(builds.v3!.output).toMatch(/precompressed \d+ files?/);
  });

  it("after v3, v1's entry file and its lazy chunk still answer 200 as JavaScript, byte for byte", async () => {
    for (const v of ['v1', 'v2', 'v3']) {
      const b = builds[v]!;
      for (const [p, body] of [
        [b.entry, b.entryBody],
        [b.lazy, b.lazyBody],
      ] as const) {
        const r = await rawGet(site.nginx.url + p);
        expect(r.status, `${v} ${p}`).toBe(200);
        expect(r.headers['content-type'], `${v} ${p}`).toMatch(/^(application|text)\/javascript/);
        expect(r.body.equals(body), `${v} ${p}`).toBe(true);
      }
    }
    // v1's chunk in v3 is a hard link to v1's own file: no bytes duplicated.
    const a = await stat(join(site.deployTo, 'releases', builds.v1!.id, 'frontend', builds.v1!.lazy));
    const b = await stat(join(site.deployTo, 'releases', builds.v3!.id, 'frontend', builds.v1!.lazy));
    expect(b.ino).toBe(a.ino);
    // v3's own files won: its index.html is v3's.
    expect((await rawGet(`${site.nginx.url}/`)).body.toString()).toContain('content="v3"');
  });

  it('index.html and unhashed paths carry no-cache; /assets/ carries immutable; a missing asset is a 404, never HTML', async () => {
    for (const p of ['/', '/index.html', '/some/client/route']) {
      const r = await rawGet(site.nginx.url + p);
      expect(r.status, p).toBe(200);
      expect(r.headers['content-type'], p).toMatch(/^text\/html/);
      expect(r.headers['cache-control'], p).toBe('no-cache');
    }
    const asset = await rawGet(site.nginx.url + builds.v3!.entry);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await rawGet(`${site.nginx.url}/assets/Reports-doesnotexist.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers['cache-control']).toBeUndefined();
  });

  it('serves the precompressed .gz to a client that accepts gzip, the plain file to one that does not', async () => {
    const b = builds.v1!;
    const gz = await rawGet(site.nginx.url + b.entry, { 'accept-encoding': 'gzip' });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['content-type']).toMatch(/javascript/);
    expect(gz.headers.vary).toMatch(/Accept-Encoding/i);
    expect(gz.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(zlib.gunzipSync(gz.body).equals(b.entryBody)).toBe(true);
    // It is zdd's file (same bytes as the .gz on disk), carried over from v1 with it.
    const onDisk = await readFile(join(site.deployTo, 'releases', builds.v3!.id, 'frontend', `${b.entry}.gz`));
    expect(gz.body.equals(onDisk)).toBe(true);
    const gzStat = await stat(join(site.deployTo, 'releases', b.id, 'frontend', `${b.entry}.gz`));
    const origStat = await stat(join(site.deployTo, 'releases', b.id, 'frontend', b.entry));
    // Same mtime (Nginx's Last-Modified and ETag use whole seconds; utimes keeps it to the microsecond).
    expect(Math.abs(gzStat.mtimeMs - origStat.mtimeMs)).toBeLessThan(0.01);
    expect(Math.floor(gzStat.mtimeMs / 1000)).toBe(Math.floor(origStat.mtimeMs / 1000));
    expect((await readdir(join(site.deployTo, 'releases', b.id, 'frontend', 'assets'))).some((f) => f.endsWith('.br'))).toBe(true);

    const plain = await rawGet(site.nginx.url + b.entry);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(b.entryBody)).toBe(true);
  });

  it('pruning a release keeps what the kept releases need; older than keepReleases ends in a clean 404', async () => {
    const cfg = JSON.parse(await readFile(site.configPath, 'utf8'));
    await writeFile(site.configPath, JSON.stringify({ ...cfg, keepReleases: 3 }, null, 2));
    await deploy('v4');
    const ids = await readdir(join(site.deployTo, 'releases'));
    expect(ids).not.toContain(builds.v1!.id); // pruned
    expect(ids.length).toBe(3);
    // v2's and v3's files are still served (v2's through the links in v4 and its own folder).
    for (const v of ['v2', 'v3']) {
      for (const p of [builds[v]!.entry, builds[v]!.lazy]) {
        const r = await rawGet(site.nginx.url + p);
        expect(r.status, `${v} ${p}`).toBe(200);
        expect(r.headers['content-type']).toMatch(/javascript/);
      }
    }
    // A tab from before the oldest kept release: a 404 (the client snippet reloads it), not HTML.
    const gone = await rawGet(site.nginx.url + builds.v1!.lazy);
    expect(gone.status).toBe(404);
    expect(gone.body.toString()).not.toContain('<div id="root">');
  });
});
