/**
 * `zdd doctor`: checks the machine and the project and prints one ✓ / ! / ✗ row per check, with a
 * fix under every ✗. Exit 1 when any check fails, 0 otherwise. It only reads: it creates no folder,
 * starts no daemon and changes no config.
 */
import { accessSync, constants, existsSync, promises as fs, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { findConfig, loadConfig } from '../config/load.js';
import type { ZddConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { LocalHost } from '../host/local.js';
import type { Host } from '../host/types.js';
import { entrySources } from '../lib/detect.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  ok: boolean;
  level: CheckLevel;
  detail: string;
  fix?: string;
}

const MIN_NODE = [20, 19, 0] as const;

function row(name: string, level: CheckLevel, detail: string, fix?: string): Check {
  return { name, ok: level !== 'fail', level, detail, ...(fix ? { fix } : {}) };
}

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.replace(/^v/, '').split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}

export function checkNode(version = process.versions.node): Check {
  return versionAtLeast(version, MIN_NODE)
    ? row('node', 'ok', `v${version}`)
    : row('node', 'fail', `v${version}; zdd needs ${MIN_NODE.join('.')} or newer`, 'install Node.js 20.19+ (e.g. `nvm install 22`, or the NodeSource/nodejs.org packages)');
}

/** The first executable `name` on PATH, as a shell would find it. */
export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The version in the nearest package.json named `pkgName` at or above `file` (after symlinks). */
function packageVersionOf(file: string, pkgName: string): string | undefined {
  let dir: string;
  try {
    dir = path.dirname(realpathSync(file));
  } catch {
    return undefined;
  }
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const j = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (j.name === pkgName) return j.version;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * pm2 on PATH, else the one zdd depends on. The version is read from pm2's package.json rather than
 * `pm2 --version`: that command spawns a PM2 daemon when none runs, and doctor must not start one.
 */
export function checkPm2(required: boolean, envPath = process.env.PATH ?? ''): Check {
  const onPath = findOnPath('pm2', envPath);
  if (onPath) {
    const v = packageVersionOf(onPath, 'pm2');
    return row('pm2', 'ok', `${v ? `v${v}` : 'version unknown'} (${onPath})`);
  }
  try {
    const pj = createRequire(import.meta.url).resolve('pm2/package.json');
    const v = (JSON.parse(readFileSync(pj, 'utf8')) as { version?: string }).version;
    return row('pm2', 'ok', `v${v ?? '?'} (zdd's own: ${path.dirname(pj)})`);
  } catch {
    /* not installed */
  }
  const fix = 'npm install -g pm2 (or add zdd to the project with npm install -D zdd, which brings pm2)';
  return required ? row('pm2', 'fail', 'not found on PATH nor next to zdd', fix) : row('pm2', 'warn', 'not found (needed only with a backend)', fix);
}

/** The nginx binary the config's test command names, if it names one by path (`/opt/nginx/sbin/nginx -t`). */
function nginxBinary(config: ZddConfig | undefined): string {
  const words = (config?.nginx?.test ?? '').trim().split(/\s+/);
  const first = words[0] === 'sudo' ? words.find((w, i) => i > 0 && !w.startsWith('-')) : words[0];
  return first && path.isAbsolute(first) && path.basename(first) === 'nginx' ? first : 'nginx';
}

export async function checkNginx(host: Host, required: boolean, bin = 'nginx'): Promise<Check> {
  const r = await host.exec([bin, '-v'], { reject: false, readOnly: true, timeoutMs: 10_000 }).catch(() => undefined);
  const text = r ? `${r.stderr}\n${r.stdout}` : '';
  const m = /nginx\/(\S+)/.exec(text);
  if (r && r.exitCode === 0 && m) return row('nginx', 'ok', `v${m[1]}${bin !== 'nginx' ? ` (${bin})` : ''}`);
  const fix =
    'install it: sudo apt-get install nginx (Debian/Ubuntu), sudo dnf install nginx (Fedora/RHEL), brew install nginx (macOS); ' +
    'if it is installed in /usr/sbin, add that folder to PATH';
  const detail = r && r.exitCode !== 0 && !/ENOENT|not found/i.test(text) && text.trim() ? `\`${bin} -v\` failed: ${lastLines(text, 1)}` : `\`${bin}\` not found on PATH`;
  return required ? row('nginx', 'fail', detail, fix) : row('nginx', 'warn', `${detail} (not needed: the config has no nginx section)`);
}

export async function checkConfigLoads(opts: GlobalOptions, cwd: string, onSecrets?: (values: string[]) => void): Promise<{ check: Check; config?: ZddConfig }> {
  if (!opts.config && !findConfig(cwd)) {
    return { check: row('config', 'fail', `no zdd.config.{ts,mts,js,mjs,json} in ${cwd}`, 'run zdd init') };
  }
  try {
    const config = await loadConfig({ configPath: opts.config, cwd });
    onSecrets?.(Object.values(config.backend?.env ?? {}));
    return { check: row('config', 'ok', `${path.relative(cwd, config.configPath) || config.configPath} (app ${config.app})`), config };
  } catch (err) {
    if (err instanceof ConfigError) {
      const missing = err.problems.some((p) => /not found|no zdd config/i.test(p));
      return { check: row('config', 'fail', err.problems.join('; '), missing ? 'check --config, or run zdd init' : err.hint ?? 'fix the keys listed, see the config reference in the README') };
    }
    return { check: row('config', 'fail', `could not load: ${(err as Error).message}`, 'fix the error in the config file') };
  }
}

/** Write access to deployTo, or to the nearest existing parent when it does not exist yet. Creates nothing. */
export async function checkDeployTo(config: ZddConfig): Promise<Check> {
  const name = 'deployTo';
  const target = config.deployTo;
  if (config.hosts?.length) return row(name, 'warn', `${target} is on the remote hosts; not checked from here`);
  if (!path.isAbsolute(target)) return row(name, 'fail', `"${target}" is not an absolute path`, 'set deployTo to an absolute path, e.g. /srv/' + config.app);
  let probe = target;
  for (;;) {
    try {
      const st = await fs.stat(probe);
      if (!st.isDirectory()) {
        return row(name, 'fail', `${probe} exists and is not a folder`, `move ${probe} away or choose another deployTo`);
      }
      break;
    } catch {
      const up = path.dirname(probe);
      if (up === probe) break;
      probe = up;
    }
  }
  const fix = `sudo mkdir -p ${target} && sudo chown "$(id -un)" ${target}`;
  try {
    await fs.access(probe, constants.W_OK);
  } catch {
    return row(name, 'fail', probe === target ? `${target} is not writable by this user` : `${target} does not exist and ${probe} is not writable by this user`, fix);
  }
  return row(name, 'ok', probe === target ? `${target} is writable` : `${target} does not exist yet; ${probe} is writable, zdd will create it`);
}

export async function checkNginxTest(host: Host, test: string): Promise<Check> {
  const r = await host.shell(test, { reject: false, readOnly: true, timeoutMs: 30_000 }).catch((e: Error) => ({ exitCode: 127, all: e.message }));
  if (r.exitCode === 0) return row('nginx test', 'ok', `\`${test}\` passes`);
  return row(
    'nginx test',
    'fail',
    `\`${test}\` exited with ${r.exitCode}: ${lastLines(r.all) || 'no output'}`,
    'fix the Nginx config it reports; if it fails on permissions, set nginx.test to `sudo nginx -t` (and reload to `sudo nginx -s reload`)',
  );
}

/** An `open_file_cache` directive that is not `off`, in an `nginx -T` dump (comments ignored). */
export function findOpenFileCache(dump: string): string | undefined {
  for (const raw of dump.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (/^open_file_cache\s+/.test(line) && !/^open_file_cache\s+off\s*;/.test(line)) return line;
  }
  return undefined;
}

/**
 * The Nginx config as zdd's deploy reads it (src/lib/nginx.ts): the files in `nginx.config` when set,
 * else the dump of `<nginx.test> -T`.
 */
export async function checkOpenFileCache(host: Host, config: ZddConfig): Promise<Check> {
  const name = 'open_file_cache';
  const n = config.nginx!;
  let text: string | undefined;
  let source: string;
  if (n.config.length) {
    source = n.config.join(', ');
    const parts = await Promise.all(n.config.map((f) => host.readFile(path.resolve(config.projectDir, f)).catch(() => undefined)));
    if (parts.some((p) => p === undefined)) return row(name, 'warn', `cannot read every file of nginx.config (${source})`, 'check the paths in nginx.config');
    text = parts.join('\n');
  } else {
    source = `${n.test} -T`;
    if (!/\bnginx\b/.test(n.test)) return row(name, 'warn', `cannot derive a config dump from \`${n.test}\`; list the files in nginx.config`);
    const r = await host.shell(source, { reject: false, readOnly: true, timeoutMs: 30_000 }).catch(() => undefined);
    if (!r || r.exitCode !== 0) return row(name, 'warn', `could not read the Nginx config with \`${source}\``);
    text = r.stdout;
  }
  const found = findOpenFileCache(text);
  if (!found) return row(name, 'ok', 'off: a switch of current needs no Nginx reload');
  return row(
    name,
    'warn',
    `\`${found}\` in ${source}: zdd has to reload Nginx on every deploy (a reload drops idle keep-alive connections)`,
    "put `open_file_cache off;` in the app's server block (zdd init writes it) or remove it from the http block",
  );
}

/** Warn-only: does the backend entry tell PM2 it is ready and handle SIGINT? */
export function checkAppHandling(config: ZddConfig): Check {
  const name = 'app ready/shutdown';
  const b = config.backend;
  if (!b) return row(name, 'ok', 'no backend');
  const files = entrySources(b.root, b.script);
  if (!files.length) return row(name, 'warn', `${path.join(b.root, b.script)} not found (built at deploy?); could not check`);
  const text = files.map((f) => readFileSync(path.join(b.root, f), 'utf8')).join('\n');
  const ready = /process\.send\??\.?\(\s*['"`]ready['"`]/.test(text);
  const sigint = /SIGINT/.test(text);
  if (ready && sigint) return row(name, 'ok', `process.send('ready') and a SIGINT handler in ${files[0]}`);
  const missing = [ready ? undefined : "process.send('ready')", sigint ? undefined : 'a SIGINT handler'].filter(Boolean).join(' and ');
  return row(
    name,
    'warn',
    `no ${missing} seen in ${files.join(', ')}`,
    "call process.send?.('ready') once the server listens; on SIGINT, server.close() and exit within backend.killTimeout",
  );
}

export async function runChecks(opts: GlobalOptions, cwd: string, host: Host = new LocalHost(), onSecrets?: (values: string[]) => void): Promise<Check[]> {
  const { check: configCheck, config } = await checkConfigLoads(opts, cwd, onSecrets);
  const checks: Check[] = [checkNode(), configCheck];
  // Without a loaded config we cannot tell what is needed: ask for everything.
  checks.push(checkPm2(config ? Boolean(config.backend) : true));
  const nginx = await checkNginx(host, config ? Boolean(config.nginx) : false, nginxBinary(config));
  checks.push(nginx);
  if (config) {
    checks.push(await checkDeployTo(config));
    if (config.nginx && nginx.level === 'fail') {
      checks.push(row('nginx test', 'fail', `\`${config.nginx.test}\` not run: nginx is not available`, 'install nginx first (see above)'));
    } else if (config.nginx) {
      checks.push(await checkNginxTest(host, config.nginx.test));
      checks.push(await checkOpenFileCache(host, config));
    }
    checks.push(checkAppHandling(config));
  }
  return checks;
}

export async function doctorCommand(opts: GlobalOptions, io: CommandIO, _args: string[]): Promise<CommandResult> {
  const out = io.out;
  const checks = await runChecks(opts, io.cwd, new LocalHost(), (v) => out.addSecrets(v));
  const c = out.colors;
  const sym = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗') };
  const width = Math.max(...checks.map((k) => k.name.length));
  for (const k of checks) {
    out.print(`${sym[k.level]} ${k.name.padEnd(width)}  ${k.level === 'fail' ? c.red(k.detail) : k.detail}`);
    if (k.fix) out.print(`  ${' '.repeat(width)}  ${c.cyan('fix:')} ${k.fix}`);
  }
  const fails = checks.filter((k) => k.level === 'fail').length;
  const warns = checks.filter((k) => k.level === 'warn').length;
  const tally = `${fails} problem${fails === 1 ? '' : 's'}, ${warns} warning${warns === 1 ? '' : 's'}`;
  out.summary(fails === 0, fails === 0 ? `ready to deploy (${tally})` : tally);
  return { exitCode: fails ? 1 : 0, json: { checks } };
}
