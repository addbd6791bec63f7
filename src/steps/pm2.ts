import { pointCurrentAt } from '../lib/switch.js';
import { instancesOf, reloadInto, pm2For } from '../lib/reload.js';
import type { Step } from './types.js';

/** Start the app under PM2 (cluster, absolute `current/` paths) or reload it worker by worker. */
export const pm2: Step = {
  id: 'pm2',
  async plan(ctx) {
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    const running = await instancesOf(ctx);
    return {
      summary: running.length ? `reload ${ctx.config.app} (${running.length} instances), one worker at a time` : `start ${ctx.config.app} in cluster mode`,
      actions: [`write ${ctx.paths.ecosystem} (ZDD_RELEASE=${ctx.release.id})`],
    };
  },
  async run(ctx) {
    ctx.notes.pm2Action = await reloadInto(ctx, ctx.release.id);
    return String(ctx.notes.pm2Action);
  },
  /** Back to the release that served before (or stop the app if there was none). */
  async undo(ctx) {
    if (ctx.previous) {
      await pointCurrentAt(ctx, ctx.previous.id);
      await reloadInto(ctx, ctx.previous.id);
    } else {
      await ctx.host.exec([...(await pm2For(ctx)), 'delete', ctx.config.app], { cwd: ctx.paths.root, reject: false });
    }
  },
};
