/**
 * What the staged boot (stage.ts) tells that booting the working tree could not: install scripts
 * the package manager skipped or refused, a package the entry needs that the production install
 * leaves out, and files the app writes inside its own folder (which a release leaves behind at the
 * next deploy). Pure: text and file lists in, rows and sentences out.
 */
import { failedNativeModule } from '../steps/canary-checks.js';
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import { row, type Check } from './check.js';

export interface ScriptNotice {
  /** `npm-unreviewed`: npm 11 ran them with a notice; `npm-strict`: npm refused the install (strict-allow-scripts); `pnpm-ignored`: pnpm skipped them. */
  kind: 'npm-unreviewed' | 'npm-strict' | 'pnpm-ignored';
  /** `better-sqlite3@12.11.1`, or a name alone (pnpm). */
  packages: string[];
}

/**
 * Install scripts the install output mentions. npm 11.19 (default settings) runs a dependency's
 * install scripts that allowScripts does not cover and ends with `npm warn install-scripts` lines;
 * with `strict-allow-scripts` it fails (ESTRICTALLOWSCRIPTS) and installs nothing. pnpm 10 skips
 * them ("Ignored build scripts: a, b").
 */
export function scriptNotices(output: string): ScriptNotice[] {
  const out: ScriptNotice[] = [];
  const pkgs = (re: RegExp) => [...output.matchAll(re)].map((m) => m[1]!);
  const unreviewed = pkgs(/^npm warn install-scripts\s{3,}(\S+@\S+) \(/gm);
  if (unreviewed.length) out.push({ kind: 'npm-unreviewed', packages: [...new Set(unreviewed)] });
  if (/ESTRICTALLOWSCRIPTS/.test(output)) out.push({ kind: 'npm-strict', packages: [...new Set(pkgs(/^npm error\s{3,}(\S+@\S+) \(/gm))] });
  // pnpm prints it in a box: `│   Ignored build scripts: a, b.      │`.
  const ignored = /Ignored build scripts: ([^\n│]+)/.exec(output);
  if (ignored) {
    const names = ignored[1]!.replace(/\.\s*$/, '').trim();
    out.push({ kind: 'pnpm-ignored', packages: names.split(/,\s*/).filter(Boolean) });
  }
  return out;
}

/** `better-sqlite3@12.11.1` -> `better-sqlite3`, `@scope/x@1.0.0` -> `@scope/x`. */
const nameOf = (spec: string) => spec.replace(/(.)@[^@]*$/, '$1');

/** The `approve` command for the package manager of the notice, run in backend.root. */
function approveFix(n: ScriptNotice, root: string): string {
  const names = [...new Set(n.packages.map(nameOf))].join(' ');
  if (n.kind === 'pnpm-ignored') return `in ${root}: \`pnpm approve-builds\` (allow ${names}), then commit package.json / pnpm-workspace.yaml`;
  return `in ${root}: \`npm install-scripts approve ${names || '<pkg>'}\`, then commit package.json (its allowScripts goes with the release)`;
}

/**
 * The `install scripts` row after the staged install and boot; undefined when the install said
 * nothing about them. `booted`: the staged app answered its health check.
 */
export function installScriptsRow(notices: ScriptNotice[], config: ZddConfig, booted: boolean): Check | undefined {
  const root = path.relative(config.projectDir, config.backend!.root) || '.';
  const n = notices.find((x) => x.kind === 'npm-strict') ?? notices.find((x) => x.kind === 'pnpm-ignored') ?? notices[0];
  if (!n) return undefined;
  const list = n.packages.join(', ') || 'some packages';
  if (n.kind === 'npm-strict') {
    return row(
      'install scripts',
      'fail',
      `npm refused the install: the install scripts of ${list} are not covered by allowScripts and strict-allow-scripts is on (the deploy's install fails the same way)`,
      approveFix(n, root),
    );
  }
  if (n.kind === 'pnpm-ignored') {
    return row(
      'install scripts',
      booted ? 'warn' : 'fail',
      `pnpm skipped the build scripts of ${list}${booted ? '; the app booted without them' : ', and the app then failed to boot (see app boot)'}`,
      approveFix(n, root),
    );
  }
  return row(
    'install scripts',
    'warn',
    `npm ran the install scripts of ${list} with a warning: allowScripts does not cover them (npm fails the install with strict-allow-scripts on, and skips a package denied there)`,
    approveFix(n, root),
  );
}

/** Dependencies denied install scripts in package.json (`allowScripts: { x: false }`): npm skips them without a word. */
export function deniedScripts(packageJson: string | undefined): string[] {
  try {
    const allow = (JSON.parse(packageJson ?? '{}') as { allowScripts?: Record<string, unknown> }).allowScripts ?? {};
    return Object.entries(allow)
      .filter(([, v]) => v === false)
      .map(([k]) => k);
  } catch {
    return [];
  }
}

/** The package a boot could not load (`Cannot find package 'ws'`, `Cannot find module 'lodash/fp'`), by its name. */
export function missingPackage(output: string): string | undefined {
  const m = /Cannot find (?:package|module) '((?:@[^/'\s]+\/)?[^/'\s.][^/'\s]*)[^']*'/.exec(output);
  return m?.[1];
}

/**
 * Why the staged boot failed, when its output says so: a package missing from the production
 * install (in devDependencies, or in no dependency list at all), or install scripts that did not run.
 */
export function explainBootFailure(
  output: string,
  packageJson: string | undefined,
  config: ZddConfig,
  stagedDir?: string,
): { detail: string; fix: string } | undefined {
  const root = path.relative(config.projectDir, config.backend!.root) || '.';
  const outside = stagedDir ? outsideFile(output, stagedDir) : undefined;
  if (outside) {
    return {
      detail: `the app reads ${outside}, outside backend.root: a release holds only backend.root's files, so it is not there`,
      fix: `have the release carry it (backend.include: ['${outside}']), or move it into ${root}`,
    };
  }
  const pkg = missingPackage(output);
  let json: { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; optionalDependencies?: Record<string, string> } = {};
  try {
    json = JSON.parse(packageJson ?? '{}');
  } catch {
    /* no package.json to read */
  }
  if (pkg && !pkg.startsWith('node:')) {
    if (json.devDependencies?.[pkg] && !json.dependencies?.[pkg]) {
      return {
        detail: `${pkg} is needed at run time, but it is in devDependencies; the release installs with \`${config.backend!.install}\`, which leaves it out`,
        fix: `move ${pkg} to dependencies: \`npm install --save-prod ${pkg}\` in ${root}`,
      };
    }
    if (!json.dependencies?.[pkg] && !json.optionalDependencies?.[pkg]) {
      return {
        detail: `${pkg} is needed at run time, but it is not in ${root}/package.json (it works only where it happens to be installed)`,
        fix: `\`npm install ${pkg}\` in ${root}, and commit package.json and the lockfile`,
      };
    }
  }
  const found = failedNativeModule(output);
  const native = found === 'a native module' ? undefined : found;
  if (native) {
    return {
      detail: `the native module of ${native} did not load: its install script (the native build) did not run or built for another Node`,
      fix: `in ${root}: approve its install scripts (\`npm install-scripts approve ${native}\`) and check that the install builds it (\`npm rebuild ${native}\`), then commit package.json`,
    };
  }
  const denied = deniedScripts(packageJson);
  if (denied.length) {
    return {
      detail: `package.json denies the install scripts of ${denied.join(', ')} (allowScripts: false), so npm skipped them without a word`,
      fix: `if the app needs what they build: \`npm install-scripts approve ${denied.map((d) => nameOf(d.replace(/^file:.*\//, ''))).join(' ')}\` in ${root}`,
    };
  }
  return undefined;
}

/**
 * A file the staged app looked for beside its folder (`../package.json`, `../shared/x.js`), as a
 * path relative to the staged backend: the working tree has it, a release does not.
 */
export function outsideFile(output: string, stagedDir: string): string | undefined {
  const release = path.dirname(stagedDir);
  const esc = release.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(?:ENOENT[^'\\n]*'|Cannot find (?:module|package) ')(${esc}/[^']+)'`).exec(output);
  if (!m) return undefined;
  const rel = path.relative(stagedDir, m[1]!);
  return rel.startsWith('..') ? rel : undefined;
}

/** Folders and files that hold an app's state by their name, as `zdd init` suggests them. */
const STATE = /(^|\/)(data|db|uploads|storage|var)\/|\.(db|sqlite3?|db-wal|db-shm|db-journal)$/;

/**
 * Files the staged app created or changed inside its own folder while it ran (`before` and `after`
 * are stage.ts snapshots): state that a release keeps only until the next deploy, which starts from
 * the build again. With the `shared` line that would keep it.
 */
export function stateRow(before: Map<string, string>, after: Map<string, string>, config: ZddConfig): Check {
  const name = 'app state';
  const written = [...after].filter(([p, v]) => before.get(p) !== v).map(([p]) => p);
  const copied = [...before.keys()].filter((p) => /\.(db|sqlite3?)$/.test(p));
  if (!written.length && !copied.length) return row(name, 'ok', 'the app wrote no file inside its own folder while it ran');
  const dirs = new Set<string>();
  const files = new Set<string>();
  for (const p of [...written, ...copied]) {
    const top = p.split('/')[0]!;
    if (p.includes('/')) dirs.add(top);
    else files.add(top);
  }
  const line = [
    dirs.size ? `dirs: [${[...dirs].map((d) => `'${d}'`).join(', ')}]` : '',
    files.size ? `files: [${[...files].map((f) => `'${f}'`).join(', ')}]` : '',
  ].filter(Boolean);
  const fix = `shared: { ${line.join(', ')} } keeps it in <deployTo>/shared across releases${files.size ? ' (a shared file must exist there before the deploy)' : ''}; or write it outside the app's folder`;
  const shown = (list: string[]) => list.slice(0, 4).join(', ') + (list.length > 4 ? `, … (${list.length})` : '');
  const parts: string[] = [];
  if (written.length) parts.push(`while it ran, the app wrote ${shown(written)} inside its own folder`);
  if (copied.length) parts.push(`${shown(copied)} in ${path.relative(config.projectDir, config.backend!.root) || '.'} would be copied into every release`);
  const stateLike = [...written, ...copied].some((p) => STATE.test(p));
  return row(
    name,
    'warn',
    `${parts.join('; ')}: ${stateLike ? 'a database or uploads there' : 'what is written there'} stays in that release, and the next deploy starts without it`,
    fix,
  );
}
