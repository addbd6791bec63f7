import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

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
