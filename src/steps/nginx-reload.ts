import { decideNginxReload, stateFile } from '../nginx/config.js';
import { runUserCommand } from './user-command.js';
import type { Step } from '../core/types.js';
import type { NginxDecision } from '../nginx/config.js';

/** Reload Nginx only when needed, and say why it did or did not. */
export const nginxReload: Step<NginxDecision> = {
  id: 'nginx-reload',
  async plan(ctx) {
    if (!ctx.config.nginx) return { skip: 'no nginx configured', summary: '' };
    const d = await decideNginxReload(ctx);
    if (!d.reload) return { skip: d.reason, summary: '' };
    return { summary: `${ctx.config.nginx.reload} — ${d.reason}`, found: d };
  },
  async run(ctx, { found }) {
    const d = found!;
    await runUserCommand(ctx, ctx.host, ctx.config.nginx!.reload, { cwd: ctx.paths.root });
    if (d.hash) await ctx.host.writeFile(stateFile(ctx), `${d.hash}\n`);
    return d.reason;
  },
};
