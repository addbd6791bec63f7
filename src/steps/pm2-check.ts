import { assertManageable, instancesOf } from '../pm2/reload.js';
import type { Step } from '../core/types.js';

/** Before traffic moves: PM2 either does not know the app yet, or runs it so that a reload picks up `current`. */
export const pm2Check: Step = {
  id: 'pm2-check',
  async plan(ctx) {
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    return { summary: `PM2 runs ${ctx.config.app} through ${ctx.paths.current} in cluster mode, or not yet` };
  },
  async run(ctx) {
    const running = await instancesOf(ctx);
    assertManageable(ctx, running, 'pm2-check');
    return running.length ? `${running.length} instances` : 'not started yet';
  },
};
