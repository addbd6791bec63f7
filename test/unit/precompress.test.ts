/**
 * Precompression: .gz and .br beside the built frontend's text files, above a threshold, with the
 * original's mtime. Real files in a temp folder, through LocalHost.
 */
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { frontendSchema, type ZddConfig } from '../../src/config/schema.js';
import { LocalHost } from '../../src/host/local.js';
import { RecordingHost } from '../../src/host/recording.js';
import { brotliAvailable, describePrecompress, precompressDir, precompressOptions, shouldCompress } from '../../src/build/precompress.js';
import { put as seed } from '../helpers/steps.js';

let dir: string;
const host = new LocalHost();
const js = (kb: number) => `export const rows = [${Array.from({ length: kb * 20 }, (_, i) => `{id:${i},label:"row ${i}"}`).join(',')}];\n`;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zdd-pc-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(rel: string, content: string | Buffer, mtime = new Date('2026-01-02T03:04:05Z')) {
  const p = path.join(dir, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, content);
  await utimes(p, mtime, mtime);
  return p;
}
const exists = async (rel: string) => (await host.stat(path.join(dir, rel))) !== undefined;

describe('precompressDir', () => {
  it('writes .gz and .br beside text files above the threshold, with the same mtime and decodable content', async () => {
    const src = js(8);
    await put('assets/index-abc.js', src);
    await put('assets/style-def.css', 'body{margin:0}'.repeat(200));
    await put('index.html', `<!doctype html>${'<p>hello</p>'.repeat(200)}`);
    const r = await precompressDir(host, dir, { minBytes: 1024 });

    expect(brotliAvailable()).toBe(true);
    expect(r.files).toBe(3);
    expect(r.written).toEqual({ gzip: 3, br: 3 });
    expect(describePrecompress(r)).toMatch(/^precompressed 3 files \(3 \.gz \+ 3 \.br; gzip \d+% smaller\)$/);

    const gz = await readFile(path.join(dir, 'assets/index-abc.js.gz'));
    const br = await readFile(path.join(dir, 'assets/index-abc.js.br'));
    expect(zlib.gunzipSync(gz).toString()).toBe(src);
    expect(zlib.brotliDecompressSync(br).toString()).toBe(src);
    expect(gz.length).toBeLessThan(src.length);

    const orig = await stat(path.join(dir, 'assets/index-abc.js'));
    for (const ext of ['.gz', '.br']) {
      expect((await stat(path.join(dir, `assets/index-abc.js${ext}`))).mtimeMs).toBe(orig.mtimeMs);
    }
  });

  it('skips small files, binary formats, and files that already have a sibling', async () => {
    await put('assets/tiny.js', 'export default 1;');
    await put('assets/logo.png', Buffer.alloc(5000, 7));
    await put('assets/font.woff2', Buffer.alloc(5000, 7));
    await put('assets/has-own.js', js(4));
    await put('assets/has-own.js.gz', 'written by a build plugin');
    const r = await precompressDir(host, dir, { minBytes: 1024 });

    expect(await exists('assets/tiny.js.gz')).toBe(false);
    expect(await exists('assets/logo.png.gz')).toBe(false);
    expect(await exists('assets/font.woff2.gz')).toBe(false);
    // The plugin's .gz is left as it is; only the missing .br is added.
    expect(await readFile(path.join(dir, 'assets/has-own.js.gz'), 'utf8')).toBe('written by a build plugin');
    expect(await exists('assets/has-own.js.br')).toBe(true);
    expect(r.written).toEqual({ gzip: 0, br: 1 });
  });

  it('never writes a compressed form that is not smaller', async () => {
    const random = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256)));
    await put('assets/noise.js', random);
    const r = await precompressDir(host, dir, { minBytes: 1024 });
    expect(r.files).toBe(0);
    expect(await exists('assets/noise.js.gz')).toBe(false);
  });

  it('repeating it changes nothing', async () => {
    await put('assets/a.js', js(4));
    await precompressDir(host, dir, { minBytes: 1024 });
    const again = await precompressDir(host, dir, { minBytes: 1024 });
    expect(again.files).toBe(0);
  });

  it('works through any Host (RecordingHost round-trips the bytes)', async () => {
    const h = new RecordingHost();
    const src = js(4);
    seed(h, '/rel/frontend/assets/a.js', src);
    const r = await precompressDir(h, '/rel/frontend', { minBytes: 1024, encodings: ['gzip'] });
    expect(r.written.gzip).toBe(1);
    expect(zlib.gunzipSync((await h.readBytes('/rel/frontend/assets/a.js.gz'))!).toString()).toBe(src);
  });
});

describe('options', () => {
  it('shouldCompress: text types above the threshold, never a .gz/.br', () => {
    expect(shouldCompress('assets/a.js', 2000, 1024)).toBe(true);
    expect(shouldCompress('assets/a.mjs', 2000, 1024)).toBe(true);
    expect(shouldCompress('assets/a.css', 2000, 1024)).toBe(true);
    expect(shouldCompress('index.html', 2000, 1024)).toBe(true);
    expect(shouldCompress('icons.svg', 2000, 1024)).toBe(true);
    expect(shouldCompress('assets/a.js', 1023, 1024)).toBe(false);
    expect(shouldCompress('assets/a.js.gz', 9000, 1024)).toBe(false);
    expect(shouldCompress('assets/a.png', 9000, 1024)).toBe(false);
  });

  it("frontend.precompress defaults to on with a 1024-byte threshold (the schema's defaults)", () => {
    const cfg = (frontend: Record<string, unknown> | undefined) =>
      ({ frontend: frontend && frontendSchema.parse({ build: 'npm run build', ...frontend }) }) as unknown as ZddConfig;
    expect(precompressOptions(cfg({ root: '/x' }))).toEqual({ enabled: true, minBytes: 1024 });
    expect(precompressOptions(cfg({ root: '/x', precompress: false }))).toMatchObject({ enabled: false });
    expect(precompressOptions(cfg({ root: '/x', precompressMinBytes: 10 }))).toMatchObject({ minBytes: 10 });
    expect(precompressOptions(cfg(undefined))).toMatchObject({ enabled: false });
  });
});
