/**
 * The files `zdd init` writes, rendered from templates/zdd.config.ts and templates/nginx-site.conf
 * with what detection found. Keys another part of zdd adds (backend.include, backend.workspace) are
 * written active when this zdd's schema knows them, else as a comment to uncomment after an upgrade,
 * so the written config always loads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { backendSchema } from '../config/schema.js';
import { packagePath } from '../core/package-root.js';
import { scriptWhy } from './describe.js';
import { renderTemplate } from './template.js';
import type { Detection, ProxyPath } from './types.js';

/** templates/ of this package. */
export const TEMPLATES_DIR = `${packagePath('templates')}/`;

export function template(name: string): string {
  return readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
}

/** A single-quoted TypeScript string literal. */
export function ts(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function tsList(values: string[]): string {
  return `[${values.map(ts).join(', ')}]`;
}

/** Text for a `// …` comment: one line. */
function comment(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

/** The config keys this zdd's schema knows (the written config must load with it). */
export function knownKeys(): { include: boolean; workspace: boolean } {
  const shape = backendSchema.shape as Record<string, unknown>;
  return { include: 'include' in shape, workspace: 'workspace' in shape };
}

export function renderConfig(d: Detection, deployTo: string, nginxFile: string, keys = knownKeys()): string {
  const f = d.frontend;
  const b = d.backend;
  const inWorkspace = d.layout === 'workspace' && d.workspace !== undefined;
  const sh = b?.shared;
  const sharedWhy = (kind: 'files' | 'dirs'): string => {
    const list = sh?.[kind] ?? [];
    if (!list.length) return kind === 'files' ? "e.g. ['.env']" : "e.g. ['uploads']";
    const from = sh!.from.join(', ');
    if (sh!.active && kind === 'dirs')
      return comment(`state that must outlive a release (from ${from}); zdd creates <deployTo>/shared/<dir> at the first deploy`);
    return comment(`suggested ${tsList(list)} (from ${from}): not set, see the note above`);
  };
  const workspaceRoot = inWorkspace ? d.workspace!.root : '.';
  return renderTemplate(
    template('zdd.config.ts'),
    {
      app: ts(d.app),
      deployTo: ts(deployTo),
      nginxFile,
      frontendReason: f?.reason ?? '',
      frontendRoot: ts(f?.root ?? 'frontend'),
      frontendBuild: ts(f?.build ?? 'npx vite build'),
      frontendOutDir: ts(f?.outDir ?? 'dist'),
      frontendOutDirFrom: comment(f?.outDirFrom ?? ''),
      frontendInstall: f?.install.value ?? 'npm install',
      frontendInstallFrom: comment(f?.install.from ?? ''),
      backendRoot: ts(b?.root ?? 'backend'),
      backendRootWhy: comment(
        d.layout === 'single'
          ? 'one package serves both: the copy includes the frontend source'
          : inWorkspace
            ? `workspace member (${d.workspace!.from})`
            : `${b?.root ?? 'backend'}/ with a package.json`,
      ),
      workspaceRoot: ts(workspaceRoot),
      workspaceWhy: comment(inWorkspace ? `the workspace root (${d.workspace!.from}${d.workspace!.lockfile ? `, ${d.workspace!.lockfile}` : ''})` : ''),
      backendBuildCommand: ts(b?.build ?? 'npm run build'),
      backendBuildFrom: comment(b?.buildFrom ?? ''),
      backendInstall: ts(b?.install.value ?? 'npm ci --omit=dev'),
      backendInstallFrom: comment(inWorkspace && keys.workspace ? (d.workspace!.lockfile ?? 'the workspace root') : (b?.install.from ?? '')),
      backendScript: ts(b?.script ?? 'server.js'),
      backendScriptFrom: comment(b ? (b.scriptFrom === 'guess' ? 'not found: check it' : scriptWhy(b)) : ''),
      backendPort: String(b?.port ?? 3000),
      backendPortFrom: comment(b ? (b.portFrom === 'default' ? 'default: none found in the code or the start script' : `from ${b.portFrom}`) : ''),
      include: tsList(b?.include.paths ?? []),
      includeFrom: comment(b?.include.from.join(', ') ?? ''),
      healthPath: ts(b?.healthcheck.path ?? '/healthz'),
      healthFrom: comment(
        b
          ? b.healthcheck.fallback
            ? `no health route found; ${b.healthcheck.path} answers (${b.healthcheck.from}) — add a /healthz route and put it here`
            : `from ${b.healthcheck.from}`
          : '',
      ),
      sharedFiles: '[]',
      sharedDirs: sh?.dirs.length && sh.active ? tsList(sh.dirs) : '[]',
      sharedFilesWhy: sharedWhy('files'),
      sharedDirsWhy: sharedWhy('dirs'),
    },
    {
      frontend: Boolean(f),
      backend: Boolean(b),
      backendBuild: Boolean(b?.build),
      workspaceKey: inWorkspace && keys.workspace,
      workspaceComment: inWorkspace && !keys.workspace,
      backendInstall: !(inWorkspace && keys.workspace),
      includeKey: Boolean(b?.include.paths.length) && keys.include,
      includeComment: Boolean(b?.include.paths.length) && !keys.include,
    },
    { sharedNotes: (sh?.notes ?? []).map((n) => ({ note: comment(n) })) },
  );
}

/** The Nginx locations: what detection found, or (for a caller with an older Detection) the usual ones. */
function locationsOf(d: Detection): ProxyPath[] {
  if (d.nginx) return d.nginx.locations;
  return d.backend ? [{ prefix: d.frontend ? '/api/' : '/', strip: false }] : [];
}

export function renderNginxSite(d: Detection, deployTo: string): string {
  const upstream = `${d.app}_backend`;
  const why = d.nginx?.from ?? 'the Node backend';
  return renderTemplate(
    template('nginx-site.conf'),
    {
      app: d.app,
      deployTo: deployTo.replace(/\/+$/, ''),
      upstream,
      varPrefix: d.app.replace(/-/g, '_'),
      port: String(d.backend?.port ?? 3000),
    },
    { frontend: Boolean(d.frontend), backend: Boolean(d.backend) },
    {
      locations: locationsOf(d).map((l) => ({
        // A prefix the dev proxy strips is stripped here too: `location /api/` + `proxy_pass http://up/`.
        location: l.strip ? `${l.prefix.replace(/\/+$/, '')}/` : l.prefix,
        proxyPass: l.strip ? `http://${upstream}/` : `http://${upstream}`,
        locationWhy: comment(
          l.prefix === '/' && !d.frontend
            ? 'The Node backend answers everything.'
            : `To the Node backend (${why})${l.strip ? `; the prefix is stripped, as the Vite proxy's rewrite does` : ''}.`,
        ),
      })),
    },
  );
}
