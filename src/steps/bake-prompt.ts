import { createInterface } from 'node:readline/promises';
import type { DeployContext } from '../core/types.js';

/**
 * Ctrl-C (or SIGTERM) during the bake. On a terminal: ask whether to keep the new release (it was
 * verified; the bake is cut short) or switch back. Anywhere else (CI, --json, no terminal): switch
 * back, as documented — a release that did not finish its bake is not recorded ok.
 */
export async function askKeepOrSwitchBack(ctx: DeployContext): Promise<boolean> {
  const back = ctx.previous?.id ?? 'nothing';
  if (ctx.out.mode !== 'tty' || !process.stdin.isTTY) {
    ctx.out.warn(`${ctx.interrupt.signal ?? 'signal'} during the bake: switching back to ${back} (no terminal to ask)`);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`\nKeep ${ctx.release.id} (verified, bake cut short) or switch back to ${back}? [k/B] `);
    return /^k/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
