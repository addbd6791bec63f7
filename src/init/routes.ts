/**
 * The backend's HTTP routes as its source declares them (Express, Fastify, Hono, Koa routers, plain
 * `req.url === '/x'`), with the prefixes routers are mounted at (`app.use('/users', usersRouter)`),
 * and the health route `zdd init` proposes: one that is named so, else a static GET route that
 * answers, said to be a stand-in.
 */
import path from 'node:path';
import { readText } from './read.js';
import type { SourceSet } from './sources.js';
import { resolveSpecifier } from './sources.js';
import type { Route } from './types.js';

interface Mount {
  path: string;
  file?: string;
  name?: string;
}

function lineAt(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

function join(prefix: string, p: string): string {
  const j = `${prefix.replace(/\/+$/, '')}/${p.replace(/^\/+/, '')}`;
  return j.length > 1 ? j.replace(/\/+$/, '') : '/';
}

/** Identifiers bound to a relative module: `const users = require('./routes/users')`, `import users from './routes/users.js'`. */
function moduleNames(rootAbs: string, file: string, text: string): Map<string, string> {
  const names = new Map<string, string>();
  const re = /\b(?:const|let|var)\s+(\w+)\s*=\s*require\(\s*['"](\.[^'"]+)['"]\s*\)|\bimport\s+(\w+)\s+from\s+['"](\.[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) {
    const hit = resolveSpecifier(rootAbs, file, (m[2] ?? m[4])!);
    if (hit) names.set((m[1] ?? m[3])!, hit);
  }
  return names;
}

function mountsOf(rootAbs: string, file: string, text: string): Mount[] {
  const names = moduleNames(rootAbs, file, text);
  const out: Mount[] = [];
  for (const m of text.matchAll(/\.use\(\s*(['"`])(\/[^'"`]*)\1\s*,([^;\n]*)/g)) {
    const rest = m[3]!.replace(/(['"`])[^'"`]*\1/g, "''");
    const req = /require\(\s*['"](\.[^'"]+)['"]\s*\)/.exec(m[3]!);
    if (req) {
      out.push({ path: m[2]!, file: resolveSpecifier(rootAbs, file, req[1]!) });
      continue;
    }
    const ids = [...rest.matchAll(/\b([A-Za-z_$][\w$]*)\b(?!\s*[.(])/g)].map((x) => x[1]!);
    const last = ids[ids.length - 1];
    if (last) out.push({ path: m[2]!, file: names.get(last), name: names.has(last) ? undefined : last });
  }
  // Hono: app.route('/api', api)
  for (const m of text.matchAll(/\.route\(\s*(['"`])(\/[^'"`]*)\1\s*,\s*([A-Za-z_$][\w$]*)\s*\)/g)) {
    out.push({ path: m[2]!, file: names.get(m[3]!), name: names.has(m[3]!) ? undefined : m[3] });
  }
  // Koa/Hono routers that carry their prefix: new Router({ prefix: '/api' }), new Hono().basePath('/api')
  for (const m of text.matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*new\s+(?:\w+\.)?\w*Router\(\s*\{[^}]*\bprefix\s*:\s*['"](\/[^'"]*)['"]/g)) {
    out.push({ path: m[2]!, name: m[1] });
  }
  for (const m of text.matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*new\s+Hono\([^)]*\)\s*\.basePath\(\s*['"](\/[^'"]*)['"]/g)) {
    out.push({ path: m[2]!, name: m[1] });
  }
  // Fastify: register(plugin, { prefix: '/api' })
  for (const m of text.matchAll(/\.register\(\s*(?:(\w+)|(?:require|import)\(\s*['"](\.[^'"]+)['"]\s*\))\s*,\s*\{[^}]*\bprefix\s*:\s*['"](\/[^'"]*)['"]/g)) {
    const f = m[2] ? resolveSpecifier(rootAbs, file, m[2]) : names.get(m[1]!);
    out.push({ path: m[3]!, file: f, name: f ? undefined : m[1] });
  }
  return out;
}

/** Every route of the source set, mounts resolved; `at` is relative to the backend root. */
export function findRoutes(rootAbs: string, sources: SourceSet): Route[] {
  const texts = new Map(sources.files.map((f) => [f, readText(path.join(rootAbs, f)) ?? '']));
  const mounts = new Map(sources.files.map((f) => [f, mountsOf(rootAbs, f, texts.get(f)!)]));
  const mounted = new Set([...mounts.values()].flat().flatMap((m) => (m.file ? [m.file] : [])));
  const prefix = new Map<string, string>();
  const queue = sources.files.filter((f) => !mounted.has(f)).slice(0, 1);
  if (queue[0]) prefix.set(queue[0], '');
  // Entries and what they import plainly share the entry's prefix; a mounted router gets the mount's.
  while (queue.length) {
    const f = queue.shift()!;
    const p = prefix.get(f)!;
    for (const m of mounts.get(f) ?? []) {
      if (m.file && !prefix.has(m.file)) {
        prefix.set(m.file, join(p, m.path));
        queue.push(m.file);
      }
    }
    for (const t of sources.imports.get(f) ?? []) {
      if (!prefix.has(t) && !mounted.has(t)) {
        prefix.set(t, p);
        queue.push(t);
      }
    }
  }
  const routes: Route[] = [];
  const ROUTE = /\b([A-Za-z_$][\w$]*)\s*\.\s*(get|all|head)\s*\(\s*(['"`])(\/[^'"`]*)\3/g;
  for (const f of sources.files) {
    const text = texts.get(f)!;
    const p = prefix.get(f) ?? '';
    const local = new Map((mounts.get(f) ?? []).filter((m) => m.name).map((m) => [m.name!, m.path]));
    for (const m of text.matchAll(ROUTE)) {
      const base = local.has(m[1]!) ? join(p, local.get(m[1]!)!) : p;
      const body = text.slice(m.index, m.index + 400);
      const next = body.slice(m[0].length).search(/\.\s*(get|post|put|delete|patch|all|use)\s*\(/);
      const handler = next < 0 ? body : body.slice(0, next + m[0].length);
      routes.push({ method: m[2]!.toUpperCase(), path: join(base, m[4]!), at: `${f}:${lineAt(text, m.index)}`, renders: /\.render\s*\(/.test(handler) });
    }
    // Express: router.route('/health').get(…)
    for (const m of text.matchAll(/\b([A-Za-z_$][\w$]*)\s*\.\s*route\(\s*(['"`])(\/[^'"`]*)\2\s*\)\s*\.\s*(?:get|all)\s*\(/g)) {
      const base = local.has(m[1]!) ? join(p, local.get(m[1]!)!) : p;
      routes.push({ method: 'GET', path: join(base, m[3]!), at: `${f}:${lineAt(text, m.index)}`, renders: false });
    }
    for (const m of text.matchAll(/\b(?:req\.url|request\.url|url\.pathname|pathname)\s*===?\s*['"](\/[^'"?]*)['"]/g)) {
      routes.push({ method: 'GET', path: m[1]!, at: `${f}:${lineAt(text, m.index)}`, renders: false });
    }
  }
  return routes;
}

const HEALTH = [/\/(health|healthz|healthcheck|health-check|_health)$/i, /\/(status|ping|ready|readyz|livez|alive)$/i];

/** A static path: no `:param`, `*`, `(` or regex. */
function isStatic(p: string): boolean {
  return !/[:*(?+[\\]/.test(p);
}

export type HealthPick = { route: Route; fallback: boolean } | undefined;

/** The route named for health checks; else the static GET route most likely to answer 2xx. */
export function pickHealthRoute(routes: Route[]): HealthPick {
  const gets = routes.filter((r) => r.method !== 'HEAD' && isStatic(r.path));
  for (const re of HEALTH) {
    const hit = gets.find((r) => re.test(r.path));
    if (hit) return { route: hit, fallback: false };
  }
  const ranked = [...gets].sort((a, b) => Number(a.renders) - Number(b.renders) || a.path.split('/').length - b.path.split('/').length);
  return ranked[0] ? { route: ranked[0], fallback: true } : undefined;
}

/** Folders the backend serves itself: `express.static(path.join(__dirname, 'build'))`, `serveStatic('dist')`. */
export function staticDirs(rootAbs: string, sources: SourceSet): string[] {
  const out = new Set<string>();
  const re =
    /\b(?:express\.static|serveStatic|koaStatic|sirv)\(\s*(?:path\.(?:join|resolve)\(\s*(?:__dirname|process\.cwd\(\))\s*,\s*)?((?:['"][^'"]+['"]\s*,?\s*)+)/g;
  for (const f of sources.files) {
    const text = readText(path.join(rootAbs, f)) ?? '';
    for (const m of text.matchAll(re)) {
      const parts = [...m[1]!.matchAll(/['"]([^'"]+)['"]/g)].map((x) => x[1]!);
      const rel = path.posix.normalize(path.posix.join(path.posix.dirname(f), ...parts));
      out.add(rel);
    }
    for (const m of text.matchAll(/\broot\s*:\s*path\.(?:join|resolve)\(\s*__dirname\s*,\s*((?:['"][^'"]+['"]\s*,?\s*)+)\)/g)) {
      const parts = [...m[1]!.matchAll(/['"]([^'"]+)['"]/g)].map((x) => x[1]!);
      out.add(path.posix.normalize(path.posix.join(path.posix.dirname(f), ...parts)));
    }
  }
  return [...out];
}
