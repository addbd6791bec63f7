/**
 * The checks of the machine that will run the app (this one, or each host over SSH), written once
 * against a Host: Node, PM2, rsync (for another machine), the nginx binary, write access to
 * deployTo, the Nginx test and open_file_cache. Every read goes through the host, so a row means the
 * same here and there; only the names differ (`web1 node` for a host, `node` here). Reads only: it
 * creates no folder, starts no daemon and changes no config.
 */
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import { onThisMachine, type ExecResult, type Host } from '../host/types.js';
import { openFileCacheLine, readNginxConfig, type NginxConfigText } from '../nginx/config.js';
import { siteRow } from './site.js';
import { findPm2, pm2Version } from '../pm2/pm2.js';
import { lastLines, row, versionAtLeast, type Check } from './check.js';

const MIN_NODE = [20, 19, 0] as const;

/** A read-only command that never throws: a host that cannot run it (connection lost) gives exit -1 and the error. */
function probe(host: Host, argv: string[], timeoutMs = 10_000): Promise<ExecResult> {
  return host.exec(argv, { reject: false, readOnly: true, timeoutMs }).catch((e: Error) => ({ exitCode: -1, stdout: '', stderr: '', all: e.message }));
}

export function checkNode(version = process.versions.node, name = 'node'): Check {
  return versionAtLeast(version, MIN_NODE)
    ? row(name, 'ok', `v${version}`)
    : row(
        name,
        'fail',
        `v${version}; zdd needs ${MIN_NODE.join('.')} or newer`,
        'install Node.js 20.19+ (e.g. `nvm install 22`, or the NodeSource/nodejs.org packages)',
      );
}

/** This machine's Node is the one running zdd; another machine's is the `node` on its PATH. */
async function nodeRow(host: Host, name: string): Promise<Check> {
  if (onThisMachine(host)) return checkNode(process.versions.node, name);
  const r = await probe(host, ['node', '--version']);
  const version = r.exitCode === 0 ? r.stdout.trim().replace(/^v/, '') : '';
  if (!version) return row(name, 'fail', 'node not found on the PATH of a non-interactive SSH session', 'install Node ≥ 20.19 there, or set hosts[].env.PATH');
  return checkNode(version, name);
}

/** The PM2 a deploy would run there (findPm2), with its version read from its package.json. */
async function pm2Row(host: Host, name: string, required: boolean): Promise<Check> {
  const here = onThisMachine(host);
  const found = await findPm2(host).catch(() => undefined);
  // zdd's own pm2 is a package on this machine: it does not count for another one.
  if (found && (here || !found.own)) {
    const v = await pm2Version(host, found);
    return found.own ? row(name, 'ok', `v${v ?? '?'} (zdd's own: ${found.path})`) : row(name, 'ok', `${v ? `v${v}` : 'version unknown'} (${found.path})`);
  }
  const fix = here
    ? 'npm install -g pm2 (or add zdd to the project with npm install -D zdd, which brings pm2)'
    : 'npm install -g pm2 (there), or set hosts[].env.PATH';
  const detail = here ? 'not found on PATH nor next to zdd' : "pm2 not found on the host's PATH";
  if (required) return row(name, 'fail', detail, fix);
  return row(name, 'warn', here ? 'not found (needed only with a backend)' : `${detail} (needed only with a backend)`, fix);
}

/** rsync, which uploads each release to another machine. */
async function rsyncRow(host: Host, name: string): Promise<Check> {
  const r = await probe(host, ['sh', '-c', 'command -v rsync']);
  if (r.exitCode === 0 && r.stdout.trim()) return row(name, 'ok', r.stdout.trim());
  return row(name, 'fail', "rsync not found on the host's PATH", 'apt-get install rsync (there)');
}

/** The nginx binary the config's test command names, if it names one by path (`/opt/nginx/sbin/nginx -t`). */
function nginxBinary(config: ZddConfig | undefined): string {
  const words = (config?.nginx?.test ?? '').trim().split(/\s+/);
  const first = words[0] === 'sudo' ? words.find((w, i) => i > 0 && !w.startsWith('-')) : words[0];
  return first && path.isAbsolute(first) && path.basename(first) === 'nginx' ? first : 'nginx';
}

async function nginxRow(host: Host, name: string, required: boolean, bin: string): Promise<Check> {
  const r = await host.exec([bin, '-v'], { reject: false, readOnly: true, timeoutMs: 10_000 }).catch(() => undefined);
  const text = r ? `${r.stderr}\n${r.stdout}` : '';
  const m = /nginx\/(\S+)/.exec(text);
  if (r && r.exitCode === 0 && m) return row(name, 'ok', `v${m[1]}${bin !== 'nginx' ? ` (${bin})` : ''}`);
  const fix =
    'install it: sudo apt-get install nginx (Debian/Ubuntu), sudo dnf install nginx (Fedora/RHEL), brew install nginx (macOS); ' +
    'if it is installed in /usr/sbin, add that folder to PATH';
  const detail =
    r && r.exitCode !== 0 && !/ENOENT|not found/i.test(text) && text.trim() ? `\`${bin} -v\` failed: ${lastLines(text, 1)}` : `\`${bin}\` not found on PATH`;
  return required ? row(name, 'fail', detail, fix) : row(name, 'warn', `${detail} (not needed: the config has no nginx section)`);
}

/**
 * Prints `<dir|other> <yes|no> <path>` for the nearest existing path at or above $1: a folder or
 * not, writable by this user or not. Shell builtins only, run as /bin/sh (not `sh`, not `dirname`):
 * it works even with a bare PATH.
 */
const NEAREST_EXISTING =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, run by sh
  'd=$1; while [ ! -e "$d" ] && [ "$d" != / ]; do d=${d%/*}; d=${d:-/}; done; ' +
  'if [ -d "$d" ]; then t=dir; else t=other; fi; if [ -w "$d" ]; then w=yes; else w=no; fi; printf "%s %s %s" "$t" "$w" "$d"';

/** Write access to deployTo, or to the nearest existing parent when it does not exist yet. Creates nothing. */
export async function checkDeployTo(host: Host, config: ZddConfig, name = 'deployTo'): Promise<Check> {
  const target = config.deployTo;
  if (!path.isAbsolute(target)) return row(name, 'fail', `"${target}" is not an absolute path`, `set deployTo to an absolute path, e.g. /srv/${config.app}`);
  const r = await probe(host, ['/bin/sh', '-c', NEAREST_EXISTING, 'sh', target]);
  const m = r.exitCode === 0 ? /^(dir|other) (yes|no) (.+)$/s.exec(r.stdout) : null;
  if (!m) return row(name, 'fail', `could not check ${target}: ${lastLines(r.all) || `exit ${r.exitCode}`}`);
  const [, type, writable, found] = m;
  if (type !== 'dir') return row(name, 'fail', `${found} exists and is not a folder`, `move ${found} away or choose another deployTo`);
  const who = onThisMachine(host) ? 'this user' : 'the SSH user';
  if (writable !== 'yes') {
    return row(
      name,
      'fail',
      found === target ? `${target} is not writable by ${who}` : `${target} does not exist and ${found} is not writable by ${who}`,
      `sudo mkdir -p ${target} && sudo chown "$(id -un)" ${target}`,
    );
  }
  return row(name, 'ok', found === target ? `${target} is writable` : `${target} does not exist yet; ${found} is writable, zdd will create it`);
}

async function nginxTestRow(host: Host, name: string, test: string): Promise<Check> {
  const r = await host.shell(test, { reject: false, readOnly: true, timeoutMs: 30_000 }).catch((e: Error) => ({ exitCode: 127, all: e.message }));
  if (r.exitCode === 0) return row(name, 'ok', `\`${test}\` passes`);
  return row(
    name,
    'fail',
    `\`${test}\` exited with ${r.exitCode}: ${lastLines(r.all) || 'no output'}`,
    'fix the Nginx config it reports; if it fails on permissions, set nginx.test to `sudo nginx -t` (and reload to `sudo nginx -s reload`)',
  );
}

/** open_file_cache in the Nginx config as the deploy reads it (src/nginx/config.ts): on, the deploy reloads Nginx every time. */
function openFileCacheRow(name: string, config: ZddConfig, read: NginxConfigText | undefined): Check {
  const n = config.nginx!;
  const fromFiles = n.config.length > 0;
  const source = read?.source ?? (fromFiles ? n.config.join(', ') : `${n.test} -T`);
  if (fromFiles && (!read || read.missing.length))
    return row(name, 'warn', `cannot read every file of nginx.config (${source})`, 'check the paths in nginx.config');
  if (read?.problem === 'no-dump') return row(name, 'warn', `cannot derive a config dump from \`${n.test}\`; list the files in nginx.config`);
  if (read?.text === undefined) return row(name, 'warn', `could not read the Nginx config with \`${source}\``);
  const found = openFileCacheLine(read.text);
  if (!found) return row(name, 'ok', 'off: a switch of current needs no Nginx reload');
  return row(
    name,
    'warn',
    `\`${found}\` in ${source}: zdd has to reload Nginx on every deploy (a reload drops idle keep-alive connections)`,
    "put `open_file_cache off;` in the app's server block (zdd init writes it) or remove it from the http block",
  );
}

/**
 * The rows of the machine `host` for `config` (undefined when the config did not load: then PM2 is
 * asked for and Nginx only looked for, and nothing of the config is checked). Row names carry
 * `label` first (`web1 node`); it defaults to the host's name for another machine, none for this one.
 */
export async function targetChecks(host: Host, config: ZddConfig | undefined, opts: { label?: string } = {}): Promise<Check[]> {
  const label = opts.label ?? (onThisMachine(host) ? '' : host.name);
  const name = (what: string) => (label ? `${label} ${what}` : what);
  const checks: Check[] = [await nodeRow(host, name('node'))];
  // Without a loaded config we cannot tell what is needed: ask for everything.
  checks.push(await pm2Row(host, name('pm2'), config ? Boolean(config.backend) : true));
  if (!onThisMachine(host)) checks.push(await rsyncRow(host, name('rsync')));
  const nginx = await nginxRow(host, name('nginx'), config ? Boolean(config.nginx) : false, nginxBinary(config));
  checks.push(nginx);
  if (!config) return checks;
  checks.push(await checkDeployTo(host, config, name('deployTo')));
  if (config.nginx && nginx.level === 'fail') {
    checks.push(row(name('nginx test'), 'fail', `\`${config.nginx.test}\` not run: nginx is not available`, 'install nginx first (see above)'));
  } else if (config.nginx) {
    const test = await nginxTestRow(host, name('nginx test'), config.nginx.test);
    checks.push(test);
    // Read once, as the deploy reads it: open_file_cache and the site both come from this text.
    const read = await readNginxConfig(host, config).catch(() => undefined);
    checks.push(openFileCacheRow(name('open_file_cache'), config, read));
    if (test.level === 'ok' && read?.text !== undefined) checks.push(siteRow(name('nginx site'), config, read.text));
  }
  return checks;
}
