/**
 * The Vite frontend: which folder holds it, its build command and outDir (from the Vite config), the
 * backend paths its dev proxy (`server.proxy`) names, and the install zdd runs for it.
 */
import path from 'node:path';
import { isFile } from '../core/fs-checks.js';
import { hasDep, readPackageJson, readText, script } from './read.js';
import type { DetectedFrontend, ProxyPath, WorkspaceInfo } from './types.js';
import { candidateDirs, installFor, runScript } from './workspace.js';

export const FRONTEND_DIRS = ['frontend', 'client', 'web', 'app', 'ui', '.'];
export const VITE_CONFIGS = ['vite.config.ts', 'vite.config.mts', 'vite.config.js', 'vite.config.mjs', 'vite.config.cjs', 'vite.config.cts'];

/** The `outDir` a vite config plainly states (`outDir: 'build'`, `outDir: path.resolve(__dirname, '../server/public')`), if any. */
export function viteOutDir(configText: string): string | undefined {
  const m =
    /\boutDir\s*:\s*(['"`])([^'"`\n$]+)\1/.exec(configText) ??
    /\boutDir\s*:\s*(?:path\.)?(?:resolve|join)\(\s*(?:__dirname|import\.meta\.dirname)\s*,\s*(['"])([^'"]+)\1\s*\)/.exec(configText);
  return m?.[2]?.trim() || undefined;
}

/** The text of the `{…}` that opens at `open` (balanced braces, strings skipped). */
function braced(text: string, open: number): string | undefined {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return undefined;
      i = end;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  return undefined;
}

/** Entries of an object literal's body at its top level: `'/api': {...}, '/ws': 'http://…'`. */
function topLevelEntries(body: string): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  let depth = 0;
  let start = 0;
  const parts: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"' || c === "'" || c === '`') {
      const end = body.indexOf(c, i + 1);
      i = end < 0 ? body.length : end;
    } else if ('{[('.includes(c)) depth++;
    else if ('}])'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  for (const p of parts) {
    const m = /^\s*(?:(['"`])([^'"`]+)\1|([\w$]+))\s*:([\s\S]*)$/.exec(p.replace(/^\s*\/\/[^\n]*\n/gm, ''));
    if (m) out.push({ key: (m[2] ?? m[3])!, value: m[4]! });
  }
  return out;
}

export interface ViteProxy {
  paths: ProxyPath[];
  skipped: string[];
  port?: number;
  /** `server.proxy` is there but not an object literal zdd can read. */
  unreadable?: boolean;
}

/** The keys of Vite's `server.proxy`: prefixes to proxy, regex keys skipped, and a target port. */
export function viteProxy(configText: string): ViteProxy | undefined {
  const m = /\bproxy\s*:\s*/.exec(configText);
  if (!m) return undefined;
  const at = m.index + m[0].length;
  if (configText[at] !== '{') return { paths: [], skipped: [], unreadable: true };
  const body = braced(configText, at);
  if (body === undefined) return { paths: [], skipped: [], unreadable: true };
  const paths: ProxyPath[] = [];
  const skipped: string[] = [];
  let port: number | undefined;
  for (const { key, value } of topLevelEntries(body)) {
    if (!key.startsWith('/')) {
      skipped.push(key);
      continue;
    }
    const target = /(?:^\s*|\btarget\s*:\s*)['"`](\w+:\/\/[^'"`]+)['"`]/.exec(value)?.[1];
    const p = target ? /:(\d{2,5})(?:\/|$)/.exec(target)?.[1] : undefined;
    if (p && port === undefined) port = Number(p);
    // rewrite: (p) => p.replace(/^\/api/, '') — the backend's routes lack the prefix.
    const strip = /\brewrite\s*:[\s\S]*?\.replace\(\s*(?:\/(?:\\.|[^/\n])+\/\w*|['"][^'"]+['"])\s*,\s*(['"`])\1\s*\)/.test(value);
    paths.push({ prefix: key, strip });
  }
  return { paths, skipped, port };
}

export function detectFrontend(projectDir: string, ws?: WorkspaceInfo): DetectedFrontend | undefined {
  for (const rel of candidateDirs(projectDir, FRONTEND_DIRS, ws)) {
    const dir = path.join(projectDir, rel);
    const pkg = readPackageJson(dir);
    const viteConfig = VITE_CONFIGS.find((f) => isFile(path.join(dir, f)));
    const viteDep = hasDep(pkg, 'vite');
    if (!viteDep && !viteConfig) continue;
    // The root only counts with a package.json (a stray vite.config at the top of a monorepo is not
    // an app we can build), and in a workspace only with a vite config of its own.
    if (rel === '.' && (!pkg || (ws && !viteConfig))) continue;
    const configText = viteConfig ? (readText(path.join(dir, viteConfig)) ?? '') : '';
    const outDir = viteOutDir(configText);
    const install = installFor(projectDir, rel, false);
    const manager = install.lockfile?.manager ?? ws?.manager;
    const proxy = viteProxy(configText);
    const reason = [viteDep ? 'vite in package.json' : undefined, viteConfig].filter(Boolean).join(', ');
    const viteBuild = manager === 'pnpm' ? 'pnpm exec vite build' : manager === 'yarn' ? 'yarn vite build' : 'npx vite build';
    return {
      root: rel,
      build: script(pkg, 'build') ? runScript(manager, 'build') : viteBuild,
      outDir: outDir ?? 'dist',
      outDirFrom: outDir ? `from ${path.posix.join(rel, viteConfig!)}` : 'Vite default',
      reason,
      viteConfig,
      proxy: proxy?.paths ?? [],
      proxySkipped: [...(proxy?.skipped ?? []), ...(proxy?.unreadable ? ['(server.proxy is not an object literal)'] : [])],
      proxyPort: proxy?.port ? { value: proxy.port, from: `proxy target in ${path.posix.join(rel, viteConfig!)}` } : undefined,
      install: { value: install.value, from: install.from },
    };
  }
  return undefined;
}
