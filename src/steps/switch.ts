import { assertCurrentIsLink, pointCurrentAt } from '../lib/switch.js';
import { currentId } from '../lib/release.js';
import type { Step } from './types.js';

/** Move traffic: `current` -> releases/<id>, atomically. Undo points it back. */
export const switchCurrent: Step = {
  id: 'switch',
  async plan(ctx) {
    await assertCurrentIsLink(ctx, 'switch');
    if ((await currentId(ctx.host, ctx.paths)) === ctx.release.id) return { skip: `current already is ${ctx.release.id}`, summary: '' };
    return { summary: `current -> releases/${ctx.release.id}${ctx.previous ? ` (was ${ctx.previous.id})` : ''}` };
  },
  async run(ctx) {
    await pointCurrentAt(ctx, ctx.release.id);
    ctx.switched = true;
    ctx.state.liveAt = new Date().toISOString();
  },
  async undo(ctx) {
    if (ctx.previous) await pointCurrentAt(ctx, ctx.previous.id);
    else await ctx.host.remove(ctx.paths.current);
    ctx.switched = false;
  },
};
