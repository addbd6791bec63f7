import type { Host, ExecOptions, ExecResult } from '../host/types.js';
import type { DeployContext } from '../core/types.js';

/**
 * Run a command line the user wrote in the config (build, install, hooks, nginx test/reload): shown
 * as written, its output streamed with --verbose, cancelled by Ctrl-C before the switch, and its time
 * counted as the user's, so zdd's own overhead can be told apart.
 */
export async function runUserCommand(ctx: DeployContext, host: Host, line: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const t0 = performance.now();
  try {
    return await host.shell(line, {
      signal: ctx.switched ? undefined : ctx.interrupt.controller.signal,
      onOutput: ctx.out.verbose ? (c) => ctx.out.debug(c.trimEnd()) : undefined,
      ...opts,
    });
  } finally {
    ctx.userMs += performance.now() - t0;
  }
}
