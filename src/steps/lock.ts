import { acquireLock, releaseLock } from '../lib/lock.js';
import type { Step } from './types.js';

/** Take `<deployTo>/.zdd/lock`; always released at the end (success, failure, Ctrl-C). */
export const lock: Step = {
  id: 'lock',
  async plan(ctx) {
    return { summary: `take ${ctx.paths.lock}` };
  },
  async run(ctx) {
    const holder = await acquireLock(ctx.host, ctx.paths, {
      command: `zdd ${ctx.command} ${ctx.release.id}`,
      waitSeconds: ctx.flags.lockWait,
      out: ctx.out,
    });
    ctx.state.lock = holder;
  },
  async cleanup(ctx) {
    const mine = ctx.state.lock;
    if (mine) await releaseLock(ctx.host, ctx.paths, mine);
  },
};
