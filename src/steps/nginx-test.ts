import { runUserCommand } from './user-command.js';
import type { Step } from '../core/types.js';

/** `nginx.test` must pass before traffic is switched. */
export const nginxTest: Step = {
  id: 'nginx-test',
  async plan(ctx) {
    if (!ctx.config.nginx) return { skip: 'no nginx configured', summary: '' };
    return { summary: ctx.config.nginx.test };
  },
  async run(ctx) {
    await runUserCommand(ctx, ctx.host, ctx.config.nginx!.test, { cwd: ctx.paths.root, readOnly: true });
  },
};
