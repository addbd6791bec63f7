import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, beforeAll } from 'vitest';
import { repoRoot } from './pm2.js';

/**
 * Temp folders for the tests of one file: `make()` creates one (named `zdd-<prefix>-…`); all of them
 * are removed after each test, even a failed one.
 */
export function tempDirs(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const d = await mkdtemp(join(tmpdir(), `zdd-${prefix}-`));
    dirs.push(d);
    return d;
  };
}

/** A project folder from `{ path: content }` in a folder of `make` (tempDirs); objects are written as JSON. */
export async function writeProject(make: () => Promise<string>, files: Record<string, string | object>): Promise<string> {
  const dir = await make();
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** The file's tests run the built CLI: say so at once when dist/ is missing. */
export function needsBuild(): void {
  beforeAll(() => {
    if (!existsSync(join(repoRoot, 'dist', 'bundle', 'cli.js'))) throw new Error('build first: npm run build');
  });
}

/** Every path under `dir` (files, and folders with a trailing "/"), relative, sorted; [] when it does not exist. */
export function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}
