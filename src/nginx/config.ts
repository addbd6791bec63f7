/**
 * The Nginx config as zdd sees it, and whether Nginx needs a reload. A switch of `current` needs
 * none (Nginx resolves `root .../current/frontend` per request), and a reload under keep-alive load
 * drops requests, so zdd reloads only when the config changed since the last reload it made, when
 * `open_file_cache` is on (it would keep serving the old release's files), or when the config asks
 * for it always. `zdd doctor` reads the config and looks for `open_file_cache` with the same two
 * functions, so it warns about exactly what the deploy will do.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import type { DeployContext } from '../core/types.js';
import type { Host } from '../host/types.js';

export interface NginxDecision {
  reload: boolean;
  reason: string;
  /** Hash of the config as tested, stored after a reload. */
  hash?: string;
}

export function stateFile(ctx: DeployContext): string {
  return path.join(ctx.paths.state, 'nginx.sha256');
}

export interface NginxConfigText {
  /** Where it was read: the files of `nginx.config` (`a.conf, b.conf`), or the dump command (`nginx -t -T`). */
  source: string;
  /**
   * The config as zdd hashes it: each file of `nginx.config` under a `# <file>` line (`(missing)` for
   * one that does not exist), or the stdout of `<nginx.test> -T`. Undefined when it cannot be read.
   * Its bytes are what decideNginxReload compares across deploys: changing them reloads Nginx once.
   */
  text?: string;
  /** Files of `nginx.config` that do not exist (their place in `text` says `(missing)`). */
  missing: string[];
  /** Why `text` is undefined: the test command names no nginx to ask for `-T`, or `-T` failed. */
  problem?: 'no-dump' | 'dump-failed';
}

/**
 * The full configuration Nginx would load: the files in `nginx.config`, else `nginx -T` through the
 * test command (run in `cwd`). A host that cannot be reached throws, as any command through it does.
 */
export async function readNginxConfig(host: Host, config: ZddConfig, cwd?: string): Promise<NginxConfigText> {
  const n = config.nginx!;
  if (n.config.length) {
    const missing: string[] = [];
    const parts = await Promise.all(
      n.config.map(async (f) => {
        const text = await host.readFile(path.resolve(config.projectDir, f));
        if (text === undefined) missing.push(f);
        return `# ${f}\n${text ?? '(missing)'}`;
      }),
    );
    return { source: n.config.join(', '), text: parts.join('\n'), missing };
  }
  const source = `${n.test} -T`;
  if (!/\bnginx\b/.test(n.test)) return { source, missing: [], problem: 'no-dump' };
  const r = await host.shell(source, { cwd, readOnly: true, reject: false });
  return r.exitCode === 0 ? { source, text: r.stdout, missing: [] } : { source, missing: [], problem: 'dump-failed' };
}

/** The first `open_file_cache` directive that is not `off`, as written (comments ignored); undefined when there is none. */
export function openFileCacheLine(text: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (/^open_file_cache\s+/.test(line) && !/^open_file_cache\s+off\s*;/.test(line)) return line;
  }
  return undefined;
}

export async function decideNginxReload(ctx: DeployContext): Promise<NginxDecision> {
  const n = ctx.config.nginx!;
  const { text } = await readNginxConfig(ctx.host, ctx.config, ctx.paths.root);
  const hash = text === undefined ? undefined : createHash('sha256').update(text).digest('hex');
  if (n.reloadAlways) return { reload: true, reason: 'nginx.reloadAlways is set', hash };
  if (text === undefined) return { reload: false, reason: 'cannot read the Nginx config to compare (set nginx.config to the files to watch); not reloading' };
  if (openFileCacheLine(text)) return { reload: true, reason: 'open_file_cache is on, so Nginx would keep serving cached files of the old release', hash };
  const last = (await ctx.host.readFile(stateFile(ctx)))?.trim();
  if (!last) return { reload: true, reason: 'first deploy with zdd: reload once so Nginx runs the config just tested', hash };
  if (last !== hash) return { reload: true, reason: 'the Nginx config changed since the last reload', hash };
  return { reload: false, reason: 'config unchanged; the switch of current needs no reload', hash };
}
