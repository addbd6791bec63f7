import path from 'node:path';
import { StepFailed } from '../core/errors.js';
import type { Step } from '../core/types.js';

/** Link each shared file/dir from <deployTo>/shared/ into the release's backend folder. */
export const shared: Step = {
  id: 'shared',
  async plan(ctx) {
    const { files, dirs } = ctx.config.shared;
    if (!ctx.config.backend || files.length + dirs.length === 0) return { skip: 'nothing shared', summary: '' };
    return { summary: `link ${[...files, ...dirs].join(', ')}` };
  },
  async run(ctx) {
    const { files, dirs } = ctx.config.shared;
    const backend = path.join(ctx.release.dir, 'backend');
    for (const f of files) {
      const src = path.join(ctx.paths.shared, f);
      const st = await ctx.host.stat(src);
      if (st?.type !== 'file') {
        throw new StepFailed('shared', `shared file ${f} is missing`, { hint: `create it at ${src}; it is linked into every release` });
      }
    }
    for (const d of dirs) await ctx.host.mkdir(path.join(ctx.paths.shared, d));
    for (const entry of [...files, ...dirs]) {
      const link = path.join(backend, entry);
      await ctx.host.mkdir(path.dirname(link));
      await ctx.host.remove(link);
      await ctx.host.symlink(path.join(ctx.paths.shared, entry), link);
    }
  },
};
