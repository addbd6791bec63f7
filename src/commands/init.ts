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
import { checkConfigLoads, checkSessionStore } from '../doctor/project.js';
import type { Check } from '../doctor/check.js';
import { detectProject, type Detection } from '../init/detect.js';
import { describeDetection } from '../init/describe.js';
import { renderConfig, renderNginxSite, TEMPLATES_DIR, template } from '../init/render.js';
import type { Reporter } from '../output/reporter.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export { renderConfig, renderNginxSite, TEMPLATES_DIR } from '../init/render.js';

export interface InitOptions extends GlobalOptions {
  force?: boolean;
  deployTo?: string;
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

/**
 * A backend whose entry neither sends `ready` nor handles SIGINT (zdd's reload safety covers it; the
 * runtime helper, templates/reload-safe.mjs, is there for apps that want to say when they are ready).
 * Undefined when there is no backend or its entry already does both.
 */
export function planRuntimeHelper(cwd: string, d: Detection): { path: string; entry: string; write: boolean } | undefined {
  const b = d.backend;
  if (!b) return undefined;
  // The file the user edits: the TypeScript source of a built entry (src/index.ts for dist/index.js).
  const entry = path.join(b.root, b.source ?? b.script);
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
        'zdd looks for a Vite app (package.json with vite, or a vite.config.*) in frontend/, client/, web/, app/, ui/, a workspace member or this folder, ' +
        'and a backend package.json in backend/, server/, api/, a workspace member, or this folder with a server in its dependencies. Run zdd init from the project root.',
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

  // Print what was found, each guess with where it came from.
  for (const l of describeDetection(d)) out[l.level](l.text);
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

  // doctor's checks of the project on what was just written: nothing boots, deployTo is not touched.
  const checks = await checkWritten(opts, cwd, out);

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
  const failed = checks.some((k) => k.level === 'fail');
  out.summary(!failed, failed ? `wrote ${configRel} and ${nginxRel}, but the config does not check out (above)` : `wrote ${configRel} and ${nginxRel}`);

  return {
    exitCode: checks.some((k) => k.level === 'fail') ? 1 : 0,
    json: {
      detected: d,
      deployTo,
      written: [configRel, nginxRel],
      overwritten: existing,
      nextSteps: steps,
      checks,
      runtimeHelper: helper ? { path: helper.path, written: helper.write } : null,
      clientSnippet: snippet
        ? { path: snippet.path, written: snippet.write, entry: snippet.entry ?? null, imported: snippet.imported, import: snippetImport(snippet) }
        : null,
    },
  };
}

/** The config loads through the real loader, and the project checks of `zdd doctor` on it; their rows, printed as doctor does. */
async function checkWritten(opts: GlobalOptions, cwd: string, out: Reporter): Promise<Check[]> {
  const { check, config } = await checkConfigLoads({ ...opts, config: undefined }, cwd, (v) => out.addSecrets(v));
  const checks = [check, ...(config ? [checkSessionStore(config)] : [])];
  const c = out.colors;
  const sym = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗') };
  const width = Math.max(...checks.map((k) => k.name.length));
  out.print('');
  out.print('Checks of what was written (zdd doctor runs these and the machine checks):');
  for (const k of checks) {
    out.print(`${sym[k.level]} ${k.name.padEnd(width)}  ${k.detail}`);
    if (k.fix) out.print(`  ${' '.repeat(width)}  fix: ${k.fix}`);
  }
  return checks;
}
