import path from 'node:path';
import type { Step } from './types.js';

/** Run `backend.install` inside the release's backend folder. */
export const install: Step = {
  id: 'install',
  async plan(ctx) {
    const b = ctx.config.backend;
    if (!b) return { skip: 'no backend configured', summary: '' };
    return { summary: b.install, actions: [`run \`${b.install}\` in ${path.join(ctx.release.dir, 'backend')}`] };
  },
  async run(ctx) {
    await ctx.host.shell(ctx.config.backend!.install, {
      cwd: path.join(ctx.release.dir, 'backend'),
      signal: ctx.interrupt.controller.signal,
      onOutput: ctx.out.verbose ? (c) => ctx.out.debug(c.trimEnd()) : undefined,
    });
  },
};
