/**
 * The Node backend: which folder, its entry (start script, main, bin, usual files; through a
 * TypeScript build), port, build and install, health route, what it serves itself, state to share and
 * files it needs from outside its folder. Every value carries where it came from.
 */
import path from 'node:path';
import { isFile } from '../core/fs-checks.js';
import { binEntry, buildMap, builtFile, ENTRY_FILES, isTypeScript, parseStartScript, sourceOf, type BuildMap } from './entry.js';
import { portInEnvFile, portInSource } from './port.js';
import { hasDep, readPackageJson, readText, script, type PackageJson } from './read.js';
import { findRoutes, pickHealthRoute, staticDirs } from './routes.js';
import { collectSources, listens, type SourceSet } from './sources.js';
import { pathUses, suggestInclude, suggestShared } from './state.js';
import type { DetectedBackend, DetectedFrontend } from './types.js';
import { installFor, runScript } from './workspace.js';

export const BACKEND_DIRS = ['backend', 'server', 'api'];
export const DEFAULT_PORT = 3000;
export const SERVER_PACKAGES = [
  'express',
  'fastify',
  'koa',
  'hono',
  '@hono/node-server',
  '@nestjs/core',
  '@hapi/hapi',
  'restify',
  'polka',
  'h3',
  'socket.io',
  'ws',
];

/** Does this package look like a server (a server framework in dependencies, or a start script that runs a file)? */
export function looksLikeServer(pkg: PackageJson | undefined): boolean {
  if (!pkg) return false;
  if (SERVER_PACKAGES.some((p) => hasDep(pkg, p, 'dependencies'))) return true;
  const start = script(pkg, 'start');
  return Boolean(start && parseStartScript(start) && !/\bvite\b/.test(start));
}

interface Candidate {
  file: string;
  from: string;
}

interface Resolved extends Candidate {
  script: string;
  source: string;
  sources: SourceSet;
  listens: boolean;
  note?: string;
}

function resolveCandidate(dir: string, c: Candidate, map: BuildMap | undefined, runner: string | undefined): Resolved | undefined {
  let script = c.file;
  let source: string | undefined;
  let note: string | undefined;
  if (isTypeScript(c.file)) {
    if (!isFile(path.join(dir, c.file))) return undefined;
    source = c.file;
    const built = map && builtFile(map, c.file);
    if (built) script = built;
    else
      note = `${c.file} is TypeScript and no build script compiles it (${runner ?? 'node'} runs it in development): PM2 runs backend.script with node; add a build (tsc) and point backend.script at its output`;
  } else {
    source = sourceOf(dir, map, c.file) ?? (isFile(path.join(dir, c.file)) ? c.file : undefined);
    if (!source) return undefined;
  }
  const sources = collectSources(dir, [source]);
  const any = sources.files.some((f) => listens(readText(path.join(dir, f)) ?? ''));
  return { ...c, script, source, sources, listens: any, note };
}

export interface BackendContext {
  projectDir: string;
  frontend?: DetectedFrontend;
  /** The backend shares its folder with the frontend (one package). */
  single?: boolean;
}

export function detectBackendIn(rel: string, ctx: BackendContext): DetectedBackend | undefined {
  const dir = path.join(ctx.projectDir, rel);
  const pkg = readPackageJson(dir);
  if (!pkg) return undefined;
  const notes: string[] = [];
  const install = installFor(ctx.projectDir, rel, true);
  const manager = install.lockfile?.manager;

  // The build: in one package the `build` script is the frontend's; a `build:server` one is the backend's.
  const buildName = ctx.single ? ['build:server', 'build:backend', 'build:api'].find((n) => script(pkg, n)) : script(pkg, 'build') ? 'build' : undefined;
  const buildScript = buildName ? script(pkg, buildName) : undefined;
  const map = buildMap(dir, buildScript ?? (ctx.single ? undefined : script(pkg, 'build')));

  const start = script(pkg, 'start');
  const startCmd = start ? parseStartScript(start) : undefined;
  const candidates: Candidate[] = [];
  if (startCmd) candidates.push({ file: startCmd.file, from: `start script "${start}"` });
  if (typeof pkg.main === 'string' && pkg.main.trim()) candidates.push({ file: pkg.main.replace(/^\.\//, ''), from: 'main' });
  const bin = binEntry(pkg);
  if (bin) candidates.push({ file: bin, from: 'bin' });
  if (map && map.tool !== 'tsc' && map.entry) candidates.push({ file: map.entry, from: map.from });
  for (const f of ENTRY_FILES) candidates.push({ file: f, from: 'file' });

  const seen = new Set<string>();
  const resolved: Resolved[] = [];
  for (const c of candidates) {
    if (seen.has(c.file)) continue;
    seen.add(c.file);
    const r = resolveCandidate(dir, c, map, startCmd?.runner);
    if (r) resolved.push(r);
    else if (c.from !== 'file') notes.push(`${c.from} names ${c.file}, which is not in ${rel}/ (and no source for it was found)`);
    if (r?.listens) break;
  }
  const chosen = resolved.find((r) => r.listens) ?? resolved[0];
  const first = resolved[0];
  if (first && chosen && first !== chosen) {
    notes.push(
      `${first.file} (${first.from}) only exports, it starts no server (no .listen( / createServer / serve( in it or what it imports): using ${chosen.file}, which does`,
    );
  } else if (chosen && !chosen.listens) {
    notes.push(`no file that starts a server was found (.listen( / createServer / serve(); ${chosen.file} is a guess: check backend.script`);
  }
  if (chosen?.note) notes.push(chosen.note);

  const sources = chosen?.sources ?? { files: [], imports: new Map(), outside: [] };
  const scriptFrom = chosen ? chosen.from : 'guess';
  const builtBy = chosen && chosen.source !== chosen.script ? map?.from : undefined;

  // Port: the start script's PORT=, else the code, else .env, else the Vite proxy's target.
  let port: number | undefined;
  let portFrom = 'default';
  if (startCmd?.env.PORT && /^\d{2,5}$/.test(startCmd.env.PORT)) {
    port = Number(startCmd.env.PORT);
    portFrom = `start script "${start}"`;
  }
  for (const f of port === undefined ? sources.files : []) {
    const hit = portInSource(readText(path.join(dir, f)) ?? '');
    if (hit) {
      port = hit.port;
      portFrom = `${path.posix.join(rel, f)}:${hit.line}`;
      break;
    }
  }
  const envPort = port === undefined ? portInEnvFile(readText(path.join(dir, '.env')) ?? '') : undefined;
  if (envPort !== undefined) {
    port = envPort;
    portFrom = path.posix.join(rel, '.env');
  }
  if (port === undefined && ctx.frontend?.proxyPort) {
    port = ctx.frontend.proxyPort.value;
    portFrom = ctx.frontend.proxyPort.from;
  }

  const routes = findRoutes(dir, sources).map((r) => ({ ...r, at: path.posix.join(rel, r.at) }));
  const pick = pickHealthRoute(routes);
  const healthcheck = pick
    ? { path: pick.route.path, from: pick.route.at, fallback: pick.fallback }
    : { path: '/', from: chosen?.listens ? 'no route found: the server answers every path' : 'nothing found', fallback: true };

  const servesStatic = staticDirs(dir, sources);
  const uses = pathUses(dir, sources, rel);
  const shared = suggestShared(dir, uses);
  const avoid = ctx.frontend && !ctx.single && ctx.frontend.root !== rel && ctx.frontend.root !== '.' ? [path.join(ctx.projectDir, ctx.frontend.root)] : [];
  const include = suggestInclude(ctx.projectDir, dir, sources, uses, avoid);
  notes.push(...include.notes);

  return {
    root: rel,
    script: chosen?.script ?? 'server.js',
    scriptFrom,
    builtBy,
    source: chosen?.source,
    port: port ?? DEFAULT_PORT,
    portFrom,
    build: buildName ? runScript(manager, buildName) : undefined,
    buildFrom: buildName ? `${buildName} script "${buildScript}"` : undefined,
    install: { value: install.value, from: install.from },
    healthcheck,
    routes,
    servesStatic,
    shared: { dirs: shared.dirs, files: shared.files, active: shared.active, from: shared.from, notes: shared.notes },
    include: { paths: include.paths, from: include.from },
    notes,
  };
}
