/**
 * The folder of zdd's own package (where package.json, templates/, schema/ and dist/ live), found by
 * walking up from this module: the same answer from src/ (tests), dist/ (tsc's output) and
 * dist/bundle/ (the CLI as one bundle, whose chunks sit at another depth).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'zdd') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`zdd: cannot find its own package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const PACKAGE_ROOT = find();

/** A path inside zdd's package. */
export const packagePath = (...parts: string[]): string => path.join(PACKAGE_ROOT, ...parts);
