import { verifyRunning } from '../lib/verify.js';
import type { Step } from './types.js';

/** Every instance online on the new release, no restart loop, health check 2xx. A failure switches back. */
export const verify: Step = {
  id: 'verify',
  async plan(ctx) {
    if (!ctx.config.backend) return { skip: 'no backend configured', summary: '' };
    return { summary: `every instance online with ZDD_RELEASE=${ctx.release.id}, GET ${ctx.config.healthcheck.path} on port ${ctx.config.backend.port}` };
  },
  async run(ctx) {
    return verifyRunning(ctx, ctx.release.id);
  },
};
