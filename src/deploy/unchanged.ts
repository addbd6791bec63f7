/** Whether a deploy has anything to do: the inputs, PM2's settings and Nginx against `current`. */
import type { DeployContext } from '../core/types.js';
import { inputsFor, type Inputs } from '../build/inputs.js';
import { decideNginxReload } from '../nginx/config.js';
import { ecosystemSource } from '../pm2/pm2.js';
import { readRelease } from '../releases/release.js';
import { instancesOf } from '../pm2/reload.js';

/**
 * Is this deploy a no-op? Yes when `current` is an ok release whose recorded inputs (frontend,
 * backend, install, config) all equal this run's, the ecosystem file zdd would write is the one in
 * place (same backend.env, instances, port...), PM2 runs every instance on `current`, and the Nginx
 * config has not changed since the last reload zdd made. Reads only.
 */
export async function unchangedSince(ctx: DeployContext): Promise<{ id: string } | { changed?: string }> {
  const cur = ctx.previous;
  if (!cur) return {};
  const info = await readRelease(ctx.host, ctx.paths, cur.id);
  if (info?.status !== 'ok' || !info.inputs) return {};
  const now = await inputsFor(ctx);
  if (!now) return {};
  const parts = (['frontend', 'backend', 'install', 'config'] as const satisfies readonly (keyof Inputs)[]).filter(
    (k) => (now[k] ?? null) !== (info.inputs![k] ?? null),
  );
  if (parts.length) return { changed: parts.map((p) => (p === 'install' ? 'dependencies' : p)).join(', ') };
  const b = ctx.config.backend;
  if (b) {
    const eco = await ctx.host.readFile(ctx.paths.ecosystem);
    if (eco !== ecosystemSource(ctx.config, ctx.paths, cur.id)) return { changed: 'the PM2 settings (backend.env or the ecosystem file)' };
    const running = await instancesOf(ctx);
    if (running.length === 0 || running.some((i) => i.status !== 'online' || i.release !== cur.id)) {
      return { changed: `nothing in the build, but PM2 does not run every instance of ${ctx.config.app} online on ${cur.id}` };
    }
  }
  const n = ctx.config.nginx;
  if (n && !n.reloadAlways) {
    const d = await decideNginxReload(ctx);
    if (d.reload) return { changed: `nothing in the build, but Nginx needs a reload: ${d.reason}` };
  }
  return { id: cur.id };
}
