import path from 'node:path';
import { runUserCommand } from '../lib/user-command.js';
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
    await runUserCommand(ctx, ctx.host, ctx.config.backend!.install, { cwd: path.join(ctx.release.dir, 'backend') });
  },
};
