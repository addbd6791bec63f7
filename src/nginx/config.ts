/**
 * Whether Nginx needs a reload. A switch of `current` needs none (Nginx resolves
 * `root .../current/frontend` per request), and a reload under keep-alive load drops requests, so
 * zdd reloads only when the config changed since the last reload it made, when `open_file_cache` is
 * on (it would keep serving the old release's files), or when the config asks for it always.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DeployContext } from '../core/types.js';

export interface NginxDecision {
  reload: boolean;
  reason: string;
  /** Hash of the config as tested, stored after a reload. */
  hash?: string;
}

export function stateFile(ctx: DeployContext): string {
  return path.join(ctx.paths.state, 'nginx.sha256');
}

/** The full configuration Nginx would load: `nginx -T` through the configured test command. */
async function configText(ctx: DeployContext): Promise<string | undefined> {
  const n = ctx.config.nginx!;
  if (n.config.length) {
    const parts = await Promise.all(n.config.map(async (f) => `# ${f}\n${(await ctx.host.readFile(path.resolve(ctx.config.projectDir, f))) ?? '(missing)'}`));
    return parts.join('\n');
  }
  if (!/\bnginx\b/.test(n.test)) return undefined;
  const r = await ctx.host.shell(`${n.test} -T`, { cwd: ctx.paths.root, readOnly: true, reject: false });
  return r.exitCode === 0 ? r.stdout : undefined;
}

export function openFileCacheOn(text: string): boolean {
  return /^\s*open_file_cache\s+(?!off\s*;)/m.test(text);
}

export async function decideNginxReload(ctx: DeployContext): Promise<NginxDecision> {
  const n = ctx.config.nginx!;
  const text = await configText(ctx);
  const hash = text === undefined ? undefined : createHash('sha256').update(text).digest('hex');
  if (n.reloadAlways) return { reload: true, reason: 'nginx.reloadAlways is set', hash };
  if (text === undefined) return { reload: false, reason: 'cannot read the Nginx config to compare (set nginx.config to the files to watch); not reloading' };
  if (openFileCacheOn(text)) return { reload: true, reason: 'open_file_cache is on, so Nginx would keep serving cached files of the old release', hash };
  const last = (await ctx.host.readFile(stateFile(ctx)))?.trim();
  if (!last) return { reload: true, reason: 'first deploy with zdd: reload once so Nginx runs the config just tested', hash };
  if (last !== hash) return { reload: true, reason: 'the Nginx config changed since the last reload', hash };
  return { reload: false, reason: 'config unchanged; the switch of current needs no reload', hash };
}
