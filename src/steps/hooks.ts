import { runHook, type HookName } from '../lib/hooks.js';
import type { Step } from './types.js';

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
