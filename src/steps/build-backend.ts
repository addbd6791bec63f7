import path from 'node:path';
import { StepFailed } from '../errors.js';
import { runUserCommand } from '../lib/user-command.js';
import type { Step } from './types.js';

/** Run `backend.build` if set; copy `backend.root` into releases/<id>/backend/ without node_modules and .git. */
export const buildBackend: Step = {
  id: 'build-backend',
  async plan(ctx) {
    const b = ctx.config.backend;
    if (!b) return { skip: 'no backend configured', summary: '' };
    const actions = [`copy ${b.root} -> ${ctx.release.dir}/backend (without node_modules, .git)`];
    if (b.build) actions.unshift(`run \`${b.build}\` in ${b.root}`);
    return { summary: b.build ?? 'copy the backend', actions };
  },
  async run(ctx) {
    const b = ctx.config.backend!;
    if (b.build) {
      await runUserCommand(ctx, ctx.builder, b.build, { cwd: b.root });
    }
    const dest = path.join(ctx.release.dir, 'backend');
    await ctx.host.remove(dest);
    await ctx.host.upload(b.root, dest, { exclude: ['node_modules', '.git'] });
    if (!(await ctx.host.stat(path.join(dest, b.script)))) {
      throw new StepFailed('build-backend', `backend.script ${b.script} is not in the release (${dest})`, {
        hint: 'backend.script is relative to backend.root; if it is built, set backend.build',
      });
    }
  },
};
