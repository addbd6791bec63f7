/**
 * The folder of zdd's own package (where package.json, templates/, schema/ and dist/ live), found by
 * walking up from this module: the same answer from src/ (tests), dist/ (tsc's output) and
 * dist/bundle/ (the CLI as one bundle, whose chunks sit at another depth).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): { root: string; version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const pkg = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'zdd') return { root: dir, version: String(pkg.version) };
      } catch {
        // not ours; keep walking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`zdd: cannot find its own package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

const own = find();
export const PACKAGE_ROOT = own.root;
/** zdd's version, from that package.json. */
export const PACKAGE_VERSION = own.version;

/** A path inside zdd's package. */
export const packagePath = (...parts: string[]): string => path.join(PACKAGE_ROOT, ...parts);
