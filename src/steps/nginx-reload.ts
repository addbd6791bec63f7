import { decideNginxReload, stateFile } from '../lib/nginx.js';
import { runUserCommand } from '../lib/user-command.js';
import type { Step } from './types.js';

/** Reload Nginx only when needed, and say why it did or did not. */
export const nginxReload: Step = {
  id: 'nginx-reload',
  async plan(ctx) {
    if (!ctx.config.nginx) return { skip: 'no nginx configured', summary: '' };
    const d = await decideNginxReload(ctx);
    ctx.state.nginx = d;
    if (!d.reload) return { skip: d.reason, summary: '' };
    return { summary: `${ctx.config.nginx.reload} — ${d.reason}` };
  },
  async run(ctx) {
    const d = ctx.state.nginx!;
    await runUserCommand(ctx, ctx.host, ctx.config.nginx!.reload, { cwd: ctx.paths.root });
    if (d.hash) await ctx.host.writeFile(stateFile(ctx), `${d.hash}\n`);
    return d.reason;
  },
};
