/**
 * What `zdd init` found, as the lines it prints: each guess with where it came from, then the notes
 * that ask the user to look (an entry that only exports, a stand-in health route, a guessed Nginx path).
 */
import type { DetectedBackend, Detection } from './types.js';

export interface Line {
  level: 'info' | 'warn';
  text: string;
}

const LAYOUTS: Record<Detection['layout'], string> = {
  separate: 'separate frontend and backend folders',
  single: 'one package serves both (frontend and backend in this folder)',
  workspace: 'a workspace',
  'frontend-only': 'frontend only',
  'backend-only': 'backend only',
};

function dir(rel: string): string {
  return rel === '.' ? 'this folder' : `${rel}/`;
}

/** `from start script "node ./bin/www"`, `from start script "node dist/index.js", built by tsconfig.json outDir dist; source src/index.ts`. */
export function scriptWhy(b: DetectedBackend): string {
  if (b.scriptFrom === 'guess') return 'not found, a guess';
  const built = b.builtBy ? `, built by ${b.builtBy}` : '';
  const source = b.source && b.source !== b.script ? `; source ${b.source}` : '';
  return `from ${b.scriptFrom}${built}${source}`;
}

export function describeDetection(d: Detection): Line[] {
  const lines: Line[] = [];
  const info = (text: string) => lines.push({ level: 'info', text });
  const warn = (text: string) => lines.push({ level: 'warn', text });
  info(`app: ${d.app} (from ${d.appFrom === 'package.json' ? 'package.json name' : 'folder name'})`);
  const ws = d.workspace;
  info(
    `layout: ${LAYOUTS[d.layout]}${
      ws && d.layout === 'workspace'
        ? ` (${ws.kind}, from ${ws.from}; members ${ws.members.join(', ') || 'none'}; ${ws.lockfile ? `lockfile ${ws.lockfile}` : 'no lockfile'})`
        : ''
    }`,
  );
  const f = d.frontend;
  if (f) {
    info(
      `frontend: ${dir(f.root)} (${f.reason}) — build \`${f.build}\`, outDir ${f.outDir} (${f.outDirFrom}), install \`${f.install.value}\` (${f.install.from})`,
    );
  } else warn('frontend: no Vite app found; the config is backend-only');
  const b = d.backend;
  if (b) {
    const port = b.portFrom === 'default' ? 'default, none found in the code or the start script' : `from ${b.portFrom}`;
    const script = scriptWhy(b);
    const install =
      d.layout === 'workspace' ? `install from the workspace root (${ws?.lockfile ?? 'no lockfile'})` : `install \`${b.install.value}\` (${b.install.from})`;
    info(
      `backend: ${dir(b.root)} — script ${b.script} (${script}), port ${b.port} (${port})${b.build ? `, build \`${b.build}\` (${b.buildFrom})` : ''}, ${install}`,
    );
    if (b.scriptFrom === 'guess')
      warn(`backend: no entry point found in ${dir(b.root)} (start script, main, bin, server.js, index.js, app.js, src/index.*); check backend.script`);
    for (const n of b.notes) warn(`backend: ${n}`);
    const h = b.healthcheck;
    if (h.fallback) warn(`healthcheck: no health route found; using ${h.path} (a route that answers, ${h.from}) — add one`);
    else info(`healthcheck: ${h.path} (from ${h.from})`);
    if (b.shared.dirs.length || b.shared.files.length) {
      const what = [...b.shared.dirs.map((x) => `${x}/`), ...b.shared.files].join(', ');
      const how = b.shared.active ? `shared.dirs set to ${b.shared.dirs.join(', ')}` : 'suggested in the config, not set';
      info(`shared: ${what} must outlive a release (from ${b.shared.from.join(', ')}); ${how}`);
      for (const n of b.shared.notes) warn(`shared: ${n}`);
    } else info('shared: nothing found that must outlive a release (no data/, uploads/, *.db)');
    if (b.include.paths.length) info(`include: ${b.include.from.join(', ')}: read from outside ${dir(b.root)}, so copied into each release`);
  } else
    warn(
      'backend: no Node backend found (backend/, server/ or api/ with a package.json, a workspace member, or a server in this package); the config is static-only',
    );
  if (b && f) {
    const locs = d.nginx.locations.map((l) => `${l.prefix}${l.strip ? ' (prefix stripped)' : ''}`).join(', ');
    const line = `nginx: ${locs} → backend (${d.nginx.from})`;
    if (d.nginx.from.startsWith('a guess')) warn(line);
    else info(line);
  }
  for (const n of d.nginx.notes) info(`nginx: ${n}`);
  for (const n of d.notes) info(`note: ${n}`);
  return lines;
}
