/**
 * Project detection for `zdd init`: the layout (separate frontend/backend folders, one package
 * serving both, a workspace), the Vite frontend, the Node backend, and the paths Nginx sends to the
 * backend. Read-only; never runs code from the project. Each part lives in a file named for it.
 */
import path from 'node:path';
import { isFile } from '../core/fs-checks.js';
import { BACKEND_DIRS, detectBackendIn, looksLikeServer } from './backend.js';
import { detectFrontend } from './frontend.js';
import { readPackageJson } from './read.js';
import type { DetectedBackend, DetectedFrontend, Detection, ProxyPath, WorkspaceInfo } from './types.js';
import { detectWorkspace } from './workspace.js';

export { BACKEND_DIRS, DEFAULT_PORT } from './backend.js';
export { entryFromStartScript } from './entry.js';
export { FRONTEND_DIRS, VITE_CONFIGS, viteOutDir, viteProxy } from './frontend.js';
export { portFromSource } from './port.js';
export { type PackageJson, readPackageJson } from './read.js';
export { renderTemplate } from './template.js';
export type { DetectedBackend, DetectedFrontend, Detection } from './types.js';

/** `my App@2` → `my-app-2`; a scope (`@acme/`) is dropped. Empty when nothing usable is left. */
export function sanitizeAppName(name: string): string {
  return name
    .replace(/^@[^/]+\//, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}

/** Source files worth reading for an entry: the entry, and for a built entry (dist/x.js) its source (src/x.ts). Only existing ones. */
export function entrySources(backendDir: string, script: string): string[] {
  const out = [script];
  const m = /^(?:dist|build|lib|out)\/(.+)\.(c|m)?js$/.exec(script);
  if (m) for (const ext of ['ts', 'mts', 'cts', 'js', 'mjs']) out.push(`src/${m[1]}.${ext}`);
  return out.filter((f) => isFile(path.join(backendDir, f)));
}

/** Where to look for the backend: workspace members that look like servers, then backend/, server/, api/. */
function backendDirs(projectDir: string, ws: WorkspaceInfo | undefined, frontendRoot: string | undefined): string[] {
  const named = (m: string) => {
    const i = BACKEND_DIRS.indexOf(path.posix.basename(m));
    return i < 0 ? BACKEND_DIRS.length : i;
  };
  const members = (ws?.members ?? [])
    .filter((m) => m !== frontendRoot && (named(m) < BACKEND_DIRS.length || looksLikeServer(readPackageJson(path.join(projectDir, m)))))
    .sort((a, b) => named(a) - named(b));
  return [...new Set([...members, ...BACKEND_DIRS])].filter((d) => d !== frontendRoot);
}

/**
 * The first path segment of each backend route (`/users/:id` → `/users/`; `/users` itself → `/users`,
 * which Nginx matches without a redirect), leaving out the health route, which only zdd calls.
 */
function routePrefixes(b: DetectedBackend): string[] {
  const segs = new Set<string>();
  for (const r of b.routes) {
    const seg = /^\/[^/:*(]+/.exec(r.path)?.[0];
    if (seg && !(r.path === b.healthcheck.path && !b.healthcheck.fallback)) segs.add(seg);
  }
  return [...segs].map((s) => (b.routes.some((r) => r.path === s) ? s : `${s}/`));
}

/** The locations Nginx proxies to the backend, and why. */
export function nginxLocations(frontend: DetectedFrontend | undefined, backend: DetectedBackend | undefined, single: boolean): Detection['nginx'] {
  const notes: string[] = [];
  if (!backend) return { locations: [], from: 'no backend', notes };
  if (!frontend) return { locations: [{ prefix: '/', strip: false }], from: 'no frontend: the backend answers every path', notes };
  for (const k of frontend.proxySkipped)
    notes.push(`Vite proxy key ${k} skipped (not a plain path prefix): add a location for it by hand if the browser calls it`);
  const served = backend.servesStatic.filter(
    (d) => path.posix.normalize(path.posix.join(backend.root, d)) === path.posix.normalize(path.posix.join(frontend.root, frontend.outDir)),
  );
  if (served.length) {
    notes.push(
      `the backend also serves the frontend's build (${served.join(', ')}) itself; Nginx serves it from <deployTo>/current/frontend and sends only the backend's paths to the backend`,
    );
  }
  if (frontend.proxy.length) {
    const at = path.posix.join(frontend.root, frontend.viteConfig ?? 'vite.config');
    return { locations: frontend.proxy, from: `server.proxy in ${at}`, notes };
  }
  const prefixes = routePrefixes(backend).filter((p) => p !== '/');
  if (prefixes.length) {
    const hasRoot = backend.routes.some((r) => r.path === '/');
    if (hasRoot) notes.push(`the backend also answers / (${backend.routes.find((r) => r.path === '/')!.at}); Nginx serves the frontend there`);
    return {
      locations: prefixes.map((p): ProxyPath => ({ prefix: p, strip: false })),
      from: `a guess: no Vite proxy${single ? ' (one package)' : ''}; the backend's routes (${prefixes.join(', ')})`,
      notes,
    };
  }
  return { locations: [{ prefix: '/api/', strip: false }], from: 'a guess: no Vite proxy and no route found in the backend; the usual /api/', notes };
}

export function detectProject(projectDir: string): Detection {
  const rootPkg = readPackageJson(projectDir);
  const fromPkg = typeof rootPkg?.name === 'string' ? sanitizeAppName(rootPkg.name) : '';
  const fromFolder = sanitizeAppName(path.basename(path.resolve(projectDir)));
  const workspace = detectWorkspace(projectDir);
  const frontend = detectFrontend(projectDir, workspace);
  const notes: string[] = [];

  let backend: DetectedBackend | undefined;
  for (const rel of backendDirs(projectDir, workspace, frontend?.root)) {
    backend = detectBackendIn(rel, { projectDir, frontend });
    if (backend) break;
  }
  // One package serving both (the root package.json has Vite and a server), or a root package whose
  // start script runs the server from a folder with no package.json of its own.
  let single = false;
  if (!backend && !workspace && looksLikeServer(rootPkg)) {
    single = frontend?.root === '.';
    backend = detectBackendIn('.', { projectDir, frontend, single });
    if (frontend && !single)
      notes.push(`the backend is this folder's package (${backend?.scriptFrom}), so each release's backend copy includes ${frontend.root}/ too`);
    if (single)
      notes.push(
        "one package serves both: backend.root is '.', so each release's backend copy includes the frontend's source too (harmless; node_modules is never copied)",
      );
  }
  const inWorkspace = Boolean(workspace && backend && workspace.members.includes(backend.root));
  const layout: Detection['layout'] = inWorkspace
    ? 'workspace'
    : single
      ? 'single'
      : frontend && backend
        ? 'separate'
        : frontend
          ? 'frontend-only'
          : 'backend-only';
  return {
    app: fromPkg || fromFolder || 'app',
    appFrom: fromPkg ? 'package.json' : 'folder',
    layout,
    workspace,
    frontend,
    backend,
    nginx: nginxLocations(frontend, backend, single),
    notes,
  };
}
