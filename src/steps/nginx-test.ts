import { StepFailed } from '../core/errors.js';
import { readTrafficPlan } from '../nginx/traffic.js';
import { runUserCommand } from './user-command.js';
import type { Step } from '../core/types.js';

/**
 * `nginx.test` must pass before traffic is switched, and the site it tests must proxy to
 * backend.port: an upstream left on the old port passes `nginx -t` and turns every request of the
 * app into a 502 once it is live, so it is caught here, before anything changes. A rollback only
 * warns about it (it must still be able to move away from a bad release).
 */
export const nginxTest: Step = {
  id: 'nginx-test',
  async plan(ctx) {
    if (!ctx.config.nginx) return { skip: 'no nginx configured', summary: '' };
    return { summary: ctx.config.nginx.test };
  },
  async run(ctx) {
    await runUserCommand(ctx, ctx.host, ctx.config.nginx!.test, { cwd: ctx.paths.root, readOnly: true });
    if (!ctx.config.backend) return;
    const t = await readTrafficPlan(ctx);
    if (t.kind === 'wrong-port') {
      if (ctx.command === 'rollback') {
        ctx.out.warn(t.message);
        return 'config test passes; the site proxies to another port than backend.port (see the warning)';
      }
      throw new StepFailed('nginx-test', t.message, { hint: 'nothing was switched; fix the Nginx site (or backend.port) and deploy again' });
    }
    if (t.kind === 'unknown') return `config test passes; where the site proxies not checked: ${t.reason}`;
    return `config test passes; the site proxies ${t.target.location} to ${t.target.via}`;
  },
};
