/**
 * Precompression: `file.gz` (and `file.br`) next to each text file of the built frontend above a size
 * threshold, with the original's mtime, so Nginx's `gzip_static on` (and ngx_brotli's
 * `brotli_static on`) serve them without compressing on every request.
 *
 * Files that already have a sibling (a build plugin wrote it) are left alone; a compressed form no
 * smaller than the original is not written.
 */
import path from 'node:path';
import zlib from 'node:zlib';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';

/** Text (or otherwise compressible) files, by extension. Images, fonts in woff/woff2 and media are already compressed. */
export const COMPRESSIBLE = /\.(?:m?js|cjs|css|html?|json|map|svg|txt|xml|webmanifest|wasm|ico|ttf|otf|eot)$/i;

export type Encoding = 'gzip' | 'br';
export const SUFFIX: Record<Encoding, string> = { gzip: '.gz', br: '.br' };

export interface PrecompressOptions {
  enabled: boolean;
  minBytes: number;
}

/** `frontend.precompress` / `frontend.precompressMinBytes`. */
export function precompressOptions(config: ZddConfig): PrecompressOptions {
  const f = config.frontend;
  return { enabled: Boolean(f?.precompress), minBytes: f?.precompressMinBytes ?? 0 };
}

/** Does Node's zlib do brotli here? (Since Node 11.7; checked rather than assumed.) */
export function brotliAvailable(): boolean {
  return typeof zlib.brotliCompressSync === 'function';
}

export function encodings(): Encoding[] {
  return brotliAvailable() ? ['gzip', 'br'] : ['gzip'];
}

export function shouldCompress(rel: string, size: number, minBytes: number): boolean {
  return size >= minBytes && COMPRESSIBLE.test(rel) && !/\.(?:gz|br)$/i.test(rel);
}

export function compress(data: Uint8Array, encoding: Encoding): Buffer {
  if (encoding === 'gzip') return zlib.gzipSync(data, { level: 9 });
  return zlib.brotliCompressSync(data, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

export interface PrecompressResult {
  /** Originals that got at least one compressed sibling. */
  files: number;
  written: { gzip: number; br: number };
  bytesIn: number;
  /** Bytes of the gzip files written (what most clients get). */
  gzipBytes: number;
}

/** Writes the compressed siblings under `dir` (on `host`). */
export async function precompressDir(host: Host, dir: string, opts: { minBytes: number; encodings?: Encoding[] }): Promise<PrecompressResult> {
  const encs = opts.encodings ?? encodings();
  const res: PrecompressResult = { files: 0, written: { gzip: 0, br: 0 }, bytesIn: 0, gzipBytes: 0 };
  const all = await host.listFiles(dir);
  const names = new Set(all.map((f) => f.path));
  for (const f of all) {
    if (!shouldCompress(f.path, f.size, opts.minBytes)) continue;
    const todo = encs.filter((e) => !names.has(f.path + SUFFIX[e]));
    if (todo.length === 0) continue;
    const abs = path.join(dir, f.path);
    const data = await host.readBytes(abs);
    if (!data) continue;
    let any = false;
    for (const e of todo) {
      const z = compress(data, e);
      if (z.length >= data.length) continue;
      await host.writeBytes(abs + SUFFIX[e], z, { mtimeMs: f.mtimeMs });
      res.written[e]++;
      if (e === 'gzip') res.gzipBytes += z.length;
      any = true;
    }
    if (any) {
      res.files++;
      res.bytesIn += data.length;
    }
  }
  return res;
}

export function describePrecompress(r: PrecompressResult): string {
  if (r.files === 0) return 'nothing to precompress';
  const kinds = [r.written.gzip ? `${r.written.gzip} .gz` : '', r.written.br ? `${r.written.br} .br` : ''].filter(Boolean).join(' + ');
  const pct = r.bytesIn ? Math.round((1 - r.gzipBytes / r.bytesIn) * 100) : 0;
  return `precompressed ${r.files} file${r.files === 1 ? '' : 's'} (${kinds}; gzip ${pct}% smaller)`;
}
