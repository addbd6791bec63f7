import { StepFailed } from '../core/errors.js';
import { nginxFailure, readTrafficPlan, type TrafficTarget } from '../nginx/traffic.js';
import type { Step } from '../core/types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long Nginx may answer with its own 502 before the check fails (a reload's new workers take a moment). */
const GRACE_MS = 5000;

const shown = (t: TrafficTarget) => `GET ${t.url}${t.host ? ` (Host: ${t.host})` : ''}`;

/**
 * After verify (and the reload, when Nginx reloaded), one request through the Nginx that serves the
 * site must reach the backend: verify asks backend.port directly, which says nothing about whether
 * Nginx sends the site's traffic there. A failure switches back, as verify's does. When zdd cannot
 * tell Nginx's address from the config it tests, it says so and passes.
 */
export const traffic: Step<TrafficTarget> = {
  id: 'traffic',
  async plan(ctx) {
    if (!ctx.config.nginx) return { skip: 'no nginx configured', summary: '' };
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    const t = await readTrafficPlan(ctx);
    if (t.kind === 'unknown') return { skip: `cannot tell where Nginx serves the site: ${t.reason}; not checked`, summary: '' };
    // nginx-test stopped a deploy for this; a rollback only warned, and is not undone for it.
    if (t.kind === 'wrong-port') return { skip: `not checked: ${t.message}`, summary: '' };
    return { summary: `${shown(t.target)} through Nginx must reach the backend`, found: t.target };
  },
  async run(ctx, { found }) {
    const t = found!;
    const deadline = Date.now() + GRACE_MS;
    for (;;) {
      let problem: string | undefined;
      let answer = '';
      try {
        const r = await ctx.host.httpGet(t.url, 5000, t.host ? { headers: { host: t.host } } : {});
        problem = nginxFailure(r.status, r.body);
        answer = String(r.status);
      } catch (err) {
        // Nginx itself not answering there is not something switching back would mend: say so, pass.
        ctx.out.warn(`Nginx did not answer ${shown(t)}: ${(err as Error).message}; traffic through Nginx not checked`);
        return `not checked: Nginx did not answer at ${t.url}`;
      }
      if (!problem) return `${shown(t)} reached the backend through ${t.location} (answered ${answer})`;
      if (Date.now() >= deadline) {
        throw new StepFailed(
          'traffic',
          `${shown(t)} got ${problem}: the site's traffic does not reach the new release (location ${t.location} proxies to ${t.via})`,
          {
            hint:
              'switched back. The config Nginx tests proxies there, so the running Nginx may still run an older config ' +
              '(reload it: nginx.reload), or it cannot reach that address; check the upstream against backend.port',
          },
        );
      }
      await sleep(300);
    }
  },
};
