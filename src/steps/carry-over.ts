import path from 'node:path';
import { applyCarryOver, carryOverDirs, describeCarry, planCarryOver } from '../lib/carry-over.js';
import type { Step } from './types.js';

/**
 * Hard-link the hashed files (frontend.carryOver, default ["assets"]) of the releases that stay on
 * disk into the new release's frontend/, where no file of that name exists, so a tab still open on
 * an older release can load its lazy chunks after the switch. See src/lib/carry-over.ts.
 */
export const carryOver: Step = {
  id: 'carry-over',
  async plan(ctx) {
    if (!ctx.config.frontend) return { skip: 'no frontend configured', summary: '' };
    const dirs = carryOverDirs(ctx.config);
    if (dirs.length === 0) return { skip: 'frontend.carryOver is empty', summary: '' };
    const p = await planCarryOver(ctx.host, ctx.paths, ctx.release, dirs, ctx.config.keepReleases, ctx.out);
    // Even with nothing to carry, the run records the new release's own files for the next deploy.
    if (p.sources.length === 0) {
      return {
        summary: 'no earlier release kept: nothing to carry',
        actions: [`record the new release's own files in ${path.join(ctx.release.dir, 'frontend-files.json')}`],
      };
    }
    return {
      summary: `hard-link ${dirs.join(', ')} of ${p.sources.length} kept release${p.sources.length === 1 ? '' : 's'} into frontend/`,
      actions: [
        `from ${p.sources.join(', ')}: up to ${p.items.length} file${p.items.length === 1 ? '' : 's'} not in the new build (the new build's files win)`,
        `record the new release's own files in ${path.join(ctx.release.dir, 'frontend-files.json')}`,
      ],
    };
  },
  async run(ctx) {
    const dirs = carryOverDirs(ctx.config);
    const p = await planCarryOver(ctx.host, ctx.paths, ctx.release, dirs, ctx.config.keepReleases, ctx.out);
    const r = await applyCarryOver(ctx.host, ctx.release, p);
    if (r.copied > 0)
      ctx.out.warn(`carry-over: ${r.copied} file(s) were copied, not hard-linked (the releases are on a filesystem without hard links); they use disk space`);
    return p.sources.length ? describeCarry(r) : 'no earlier release kept';
  },
};
