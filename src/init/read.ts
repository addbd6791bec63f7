/** Reading the project folder for `zdd init`: package.json, text files, JSON with comments. Never throws. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface PackageJson {
  name?: unknown;
  main?: unknown;
  bin?: unknown;
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  workspaces?: unknown;
}

/** A plain relative path: no shell expansion, no quote. */
export const SAFE_PATH = /^[A-Za-z0-9_@][A-Za-z0-9_@./-]*$/;

export function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** JSON, or JSON with comments and trailing commas (tsconfig.json). */
export function readJsonc(p: string): unknown {
  const text = readText(p);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // Strings are kept whole; comments outside them and trailing commas go.
    const stripped = text
      .replace(/("(?:[^"\\\n]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_m, str: string | undefined) => str ?? '')
      .replace(/,(\s*[}\]])/g, '$1');
    try {
      return JSON.parse(stripped);
    } catch {
      return undefined;
    }
  }
}

export function readPackageJson(dir: string): PackageJson | undefined {
  if (!existsSync(path.join(dir, 'package.json'))) return undefined;
  const v = readJsonc(path.join(dir, 'package.json'));
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as PackageJson) : undefined;
}

export function hasDep(pkg: PackageJson | undefined, name: string, only?: 'dependencies'): boolean {
  const has = (deps: unknown) => typeof deps === 'object' && deps !== null && Object.hasOwn(deps, name);
  return Boolean(pkg) && (has(pkg!.dependencies) || (only !== 'dependencies' && has(pkg!.devDependencies)));
}

export function script(pkg: PackageJson | undefined, name: string): string | undefined {
  const s = pkg?.scripts?.[name];
  return typeof s === 'string' && s.trim() !== '' ? s : undefined;
}

/** `a/./b/../c` → `a/c`, always with forward slashes. */
export function posix(p: string): string {
  return path.posix.normalize(p.split(path.sep).join('/'));
}
