import path from 'node:path';
import { StepFailed } from '../errors.js';
import { describePrecompress, precompressDir, precompressOptions } from '../lib/precompress.js';
import { runUserCommand } from '../lib/user-command.js';
import type { Step } from './types.js';

/**
 * Run `frontend.build` in `frontend.root`; copy `outDir` into releases/<id>/frontend/; then write
 * `.gz`/`.br` next to its text files (unless `frontend.precompress` is false).
 */
export const buildFrontend: Step = {
  id: 'build-frontend',
  async plan(ctx) {
    const f = ctx.config.frontend;
    if (!f) return { skip: 'no frontend configured', summary: '' };
    const pc = precompressOptions(ctx.config);
    const actions = [`run \`${f.build}\` in ${f.root}`, `copy ${path.join(f.root, f.outDir)} -> ${ctx.release.dir}/frontend`];
    if (pc.enabled) actions.push(`write .gz/.br next to text files of ${pc.minBytes} bytes or more (same mtime)`);
    return { summary: f.build, actions };
  },
  async run(ctx) {
    const f = ctx.config.frontend!;
    await runUserCommand(ctx, ctx.builder, f.build, { cwd: f.root });
    const outDir = path.resolve(f.root, f.outDir);
    if (!(await ctx.builder.stat(path.join(outDir, 'index.html')))) {
      throw new StepFailed('build-frontend', `${outDir} has no index.html after \`${f.build}\``, {
        hint: 'check frontend.outDir (relative to frontend.root) and the build command',
      });
    }
    const dest = path.join(ctx.release.dir, 'frontend');
    await ctx.host.remove(dest);
    await ctx.host.upload(outDir, dest);
    const pc = precompressOptions(ctx.config);
    if (!pc.enabled) return;
    return describePrecompress(await precompressDir(ctx.host, dest, { minBytes: pc.minBytes }));
  },
};
