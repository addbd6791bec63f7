/**
 * `zdd init`: detects the Vite frontend and the Node backend in the working folder and writes a
 * commented `zdd.config.ts` and an Nginx site file `nginx/<app>.conf`. It never overwrites a file
 * without --force, and when it refuses it writes nothing at all.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_NAMES } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import { LocalHost } from '../host/local.js';
import { detectProject, renderTemplate, type Detection } from '../init/detect.js';
import { packagePath } from '../core/package-root.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export interface InitOptions extends GlobalOptions {
  force?: boolean;
  deployTo?: string;
}

/** templates/ of this package. */
export const TEMPLATES_DIR = `${packagePath('templates')}/`;

function template(name: string): string {
  return readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
}

/** A single-quoted TypeScript string literal. */
function ts(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function checkDeployTo(p: string): void {
  if (!path.posix.isAbsolute(p)) throw new UsageError(`--deploy-to must be an absolute path, got "${p}"`, { hint: 'e.g. zdd init --deploy-to /srv/shop' });
  // It goes into an Nginx `root` directive and a shell-free config string: keep it plain.
  if (/[\s'"`;{}$\\#]/.test(p)) throw new UsageError(`--deploy-to "${p}" holds a character Nginx or a shell would misread (space, quote, ; { } $ \\ #)`);
}

/** The workflow template, relative to the project when zdd is installed inside it. */
function workflowTemplate(cwd: string): string {
  const abs = path.join(TEMPLATES_DIR, 'github-workflow.yml');
  const rel = path.relative(cwd, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}

export function renderConfig(d: Detection, deployTo: string, nginxFile: string): string {
  const f = d.frontend;
  const b = d.backend;
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
      backendRoot: ts(b?.root ?? 'backend'),
      backendBuildCommand: ts(b?.build ?? 'npm run build'),
      backendScript: ts(b?.script ?? 'server.js'),
      backendScriptFrom: b ? (b.scriptFrom === 'guess' ? 'not found: check it' : `from ${b.scriptFrom}`) : '',
      backendPort: String(b?.port ?? 3000),
      backendPortFrom: b ? (b.portFrom === 'default' ? 'default: none found in the entry' : `from ${b.portFrom}`) : '',
    },
    { frontend: Boolean(f), backend: Boolean(b), backendBuild: Boolean(b?.build) },
  );
}

/**
 * A backend whose entry neither sends `ready` nor handles SIGINT (zdd's reload safety covers it; the
 * runtime helper, templates/reload-safe.mjs, is there for apps that want to say when they are ready).
 * Undefined when there is no backend or its entry already does both.
 */
export function planRuntimeHelper(cwd: string, d: Detection): { path: string; entry: string; write: boolean } | undefined {
  const b = d.backend;
  if (!b) return undefined;
  const entry = path.join(b.root, b.script);
  let source = '';
  try {
    source = readFileSync(path.join(cwd, entry), 'utf8');
  } catch {
    /* no entry yet: offer the helper */
  }
  if (/reloadSafe\(/.test(source) || (/process\.send\?*\.?\(\s*['"]ready['"]/.test(source) && /SIGINT/.test(source))) return undefined;
  const rel = path.join(b.root, 'reload-safe.mjs');
  return { path: rel, entry, write: !existsSync(path.join(cwd, rel)) };
}

export function renderNginxSite(d: Detection, deployTo: string): string {
  return renderTemplate(
    template('nginx-site.conf'),
    {
      app: d.app,
      deployTo: deployTo.replace(/\/+$/, ''),
      upstream: `${d.app}_backend`,
      varPrefix: d.app.replace(/-/g, '_'),
      port: String(d.backend?.port ?? 3000),
    },
    { frontend: Boolean(d.frontend), backend: Boolean(d.backend) },
  );
}

export const SNIPPET_NAME = 'zdd-preload-error.js';

export interface SnippetPlan {
  /** Relative to the working folder. */
  path: string;
  /** False when the file is there already (it is never overwritten). */
  write: boolean;
  /** The entry module to import it from (relative to the working folder), when found. */
  entry?: string;
  /** The entry imports it already. */
  imported: boolean;
}

/**
 * The client snippet (templates/preload-error.js): reloads the page once when Vite fails to load a
 * chunk after a deploy. Goes to <frontend root>/src/ when that folder exists.
 */
export function planSnippet(cwd: string, d: Detection): SnippetPlan | undefined {
  if (!d.frontend) return undefined;
  const root = path.join(cwd, d.frontend.root);
  const src = path.join(root, 'src');
  if (!existsSync(src)) return undefined;
  const abs = path.join(src, SNIPPET_NAME);
  let entry: string | undefined;
  try {
    const html = readFileSync(path.join(root, 'index.html'), 'utf8');
    const m =
      /<script[^>]*type=["']module["'][^>]*src=["']\/?([^"']+)["']/i.exec(html) ?? /<script[^>]*src=["']\/?([^"']+)["'][^>]*type=["']module["']/i.exec(html);
    if (m?.[1] && existsSync(path.join(root, m[1]))) entry = path.join(root, m[1]);
  } catch {
    /* no index.html */
  }
  let imported = false;
  if (entry) {
    try {
      imported = readFileSync(entry, 'utf8').includes(SNIPPET_NAME.replace(/\.js$/, ''));
    } catch {
      /* unreadable */
    }
  }
  const rel = (p: string) => path.relative(cwd, p) || '.';
  return { path: rel(abs), write: !existsSync(abs), entry: entry && rel(entry), imported };
}

/** The import line for the entry module. */
export function snippetImport(s: SnippetPlan): string {
  const from = s.entry ? path.dirname(s.entry) : path.dirname(s.path);
  let spec = path.relative(from, s.path).split(path.sep).join('/');
  if (!spec.startsWith('.')) spec = `./${spec}`;
  return `import '${spec}';`;
}

export async function initCommand(opts: InitOptions, io: CommandIO, _args: string[]): Promise<CommandResult> {
  const out = io.out;
  const cwd = io.cwd;
  const d = detectProject(cwd);

  if (!d.frontend && !d.backend) {
    throw new UsageError(`found neither a Vite frontend nor a Node backend in ${cwd}`, {
      hint:
        'zdd looks for a Vite app (package.json with vite, or a vite.config.*) in frontend/, client/, web/, app/ or this folder, ' +
        'and a backend package.json in backend/, server/ or api/. Run zdd init from the project root.',
    });
  }

  const deployTo = opts.deployTo ?? `/srv/${d.app}`;
  checkDeployTo(deployTo);

  const configRel = 'zdd.config.ts';
  const nginxRel = path.posix.join('nginx', `${d.app}.conf`);
  const configPath = path.join(cwd, configRel);
  const nginxPath = path.join(cwd, nginxRel);

  // Both files are checked before either is written: a refusal leaves the folder as it was.
  const existing = [configRel, nginxRel].filter((rel) => existsSync(path.join(cwd, rel)));
  // Another config name would be shadowed by (or shadow) the new zdd.config.ts.
  const otherConfigs = CONFIG_NAMES.filter((n) => n !== configRel && existsSync(path.join(cwd, n)));
  if (!opts.force && (existing.length || otherConfigs.length)) {
    const files = [...existing, ...otherConfigs];
    throw new UsageError(`${files.join(' and ')} already exist${files.length === 1 ? 's' : ''}; nothing was written`, {
      hint: 'run zdd init --force to overwrite, or move the file away first',
    });
  }

  const configText = renderConfig(d, deployTo, nginxRel);
  const nginxText = renderNginxSite(d, deployTo);

  // Print what was found.
  out.info(`app: ${d.app} (from ${d.appFrom === 'package.json' ? 'package.json name' : 'folder name'})`);
  if (d.frontend) {
    out.info(
      `frontend: ${d.frontend.root === '.' ? 'this folder' : `${d.frontend.root}/`} (${d.frontend.reason}) — build \`${d.frontend.build}\`, outDir ${d.frontend.outDir}`,
    );
  } else out.warn('frontend: no Vite app found; the config is backend-only');
  if (d.backend) {
    const b = d.backend;
    out.info(
      `backend: ${b.root}/ — script ${b.script} (${b.scriptFrom === 'guess' ? 'not found, a guess' : `from ${b.scriptFrom}`}), ` +
        `port ${b.port} (${b.portFrom === 'default' ? 'default' : `from ${b.portFrom}`})${b.build ? `, build \`${b.build}\`` : ''}`,
    );
    if (b.scriptFrom === 'guess')
      out.warn(`backend: no entry point found in ${b.root}/ (main, start script, server.js, index.js, app.js); check backend.script`);
  } else out.warn('backend: no Node backend found (backend/, server/ or api/ with a package.json); the config is static-only');
  out.info(`deployTo: ${deployTo}${opts.deployTo ? '' : ' (default; change it with --deploy-to)'}`);

  const host = new LocalHost();
  await host.mkdir(path.dirname(nginxPath));
  await host.writeFile(configPath, configText.endsWith('\n') ? configText : `${configText}\n`);
  await host.writeFile(nginxPath, nginxText.endsWith('\n') ? nginxText : `${nginxText}\n`);
  const verb = (rel: string) => (existing.includes(rel) ? 'overwrote' : 'wrote');
  out.info(`${verb(configRel)} ${configRel}`);
  out.info(`${verb(nginxRel)} ${nginxRel}`);
  for (const other of otherConfigs) out.warn(`${other} is now ignored: ${configRel} is found first; delete it`);

  // The client snippet: written when missing, never overwritten.
  const snippet = planSnippet(cwd, d);
  if (snippet?.write) {
    await host.writeFile(path.join(cwd, snippet.path), template('preload-error.js'));
    out.info(`wrote ${snippet.path} (reloads the page once when a lazy chunk fails to load after a deploy)`);
  } else if (snippet) out.info(`kept ${snippet.path} (already there)`);

  // A backend that neither sends ready nor drains: zdd's reload safety covers it at deploy, no code change.
  const helper = planRuntimeHelper(cwd, d);
  if (helper) {
    out.info(
      `${helper.entry} neither sends ready nor drains on SIGINT: zdd makes it reload-safe at deploy (backend.reloadSafe, on by default); no change to the app needed`,
    );
  }

  const steps = [
    `review ${configRel} (deployTo, port, instances) and ${nginxRel} (server_name)`,
    `install the site: sudo cp ${nginxRel} /etc/nginx/conf.d/${d.app}.conf && sudo nginx -t && sudo nginx -s reload`,
    'zdd doctor   — checks node, pm2, nginx and write access to deployTo',
    'zdd deploy   — the first release',
    `CI: copy ${workflowTemplate(cwd)} to .github/workflows/deploy.yml`,
  ];
  if (snippet && !snippet.imported) {
    steps.splice(2, 0, `old tabs: add \`${snippetImport(snippet)}\` at the top of ${snippet.entry ?? 'your entry module (src/main.jsx or main.tsx)'}`);
  } else if (!snippet && d.frontend) {
    steps.splice(2, 0, `old tabs: copy ${path.join(TEMPLATES_DIR, 'preload-error.js')} into your app's source and import it from the entry module`);
  }
  out.print('');
  out.print('Next steps:');
  for (const [i, s] of steps.entries()) out.print(`  ${i + 1}. ${s}`);
  out.summary(true, `wrote ${configRel} and ${nginxRel}`);

  return {
    exitCode: 0,
    json: {
      detected: d,
      deployTo,
      written: [configRel, nginxRel],
      overwritten: existing,
      nextSteps: steps,
      runtimeHelper: helper ? { path: helper.path, written: helper.write } : null,
      clientSnippet: snippet
        ? { path: snippet.path, written: snippet.write, entry: snippet.entry ?? null, imported: snippet.imported, import: snippetImport(snippet) }
        : null,
    },
  };
}
