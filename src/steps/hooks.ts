import path from 'node:path';
import type { DeployContext, Step } from '../core/types.js';
import { runUserCommand } from './user-command.js';

export type HookName = 'beforeSwitch' | 'afterSwitch' | 'afterDeploy' | 'onFailure';

/** Environment every hook sees. */
export function hookEnv(ctx: DeployContext): Record<string, string> {
  return {
    ZDD_RELEASE: ctx.release.id,
    ZDD_RELEASE_DIR: ctx.release.dir,
    ZDD_DEPLOY_TO: ctx.paths.root,
    ZDD_PREVIOUS_RELEASE: ctx.previous?.id ?? '',
    ZDD_COMMAND: ctx.command,
  };
}

/** Run the hook's command lines in order in the release's backend folder (or the release folder). */
export async function runHook(ctx: DeployContext, name: HookName): Promise<number> {
  const lines = ctx.config.hooks[name];
  const cwd = ctx.config.backend ? path.join(ctx.release.dir, 'backend') : ctx.release.dir;
  for (const line of lines) {
    ctx.out.info(`${name}: ${line}`);
    await runUserCommand(ctx, ctx.host, line, { cwd, env: { ...ctx.config.backend?.env, ...hookEnv(ctx) } });
  }
  return lines.length;
}

function hookStep(id: string, name: HookName): Step {
  return {
    id,
    async plan(ctx) {
      const lines = ctx.config.hooks[name];
      if (lines.length === 0) return { skip: `no hooks.${name}`, summary: '' };
      return { summary: lines.join(' && '), actions: lines.map((l) => `run \`${l}\` with ZDD_RELEASE=${ctx.release.id}`) };
    },
    async run(ctx) {
      await runHook(ctx, name);
    },
  };
}

/** `hooks.beforeSwitch` (migrations): a failure stops the deploy before traffic moves. */
export const beforeSwitch = hookStep('hooks', 'beforeSwitch');
/** `hooks.afterSwitch`: right after `current` moved; a failure switches back. */
export const afterSwitch = hookStep('after-switch', 'afterSwitch');
