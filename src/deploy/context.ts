import type { ZddConfig } from '../config/schema.js';
import { LocalHost } from '../host/local.js';
import { PrintingHost } from '../host/printing.js';
import type { Host } from '../host/types.js';
import type { Reporter } from '../output/reporter.js';
import type { DeployContext, DeployState, RunFlags } from '../core/types.js';
import { pathsFor, releaseRef } from '../releases/paths.js';
import { currentId } from '../releases/release.js';

export async function makeContext(opts: {
  command: DeployContext['command'];
  config: ZddConfig;
  out: Reporter;
  flags: RunFlags;
  releaseId: string;
}): Promise<DeployContext> {
  const local = new LocalHost();
  const host = opts.flags.dryRun ? new PrintingHost(local, (l) => opts.out.info(l)) : local;
  const paths = pathsFor(opts.config);
  const prev = await currentId(local, paths);
  opts.out.addSecrets(Object.values(opts.config.backend?.env ?? {}));
  return newContext({ ...opts, host, builder: host, previousId: prev, state: {} });
}

/** A fresh context for one target (this machine, or one host of several). */
export function newContext(opts: {
  command: DeployContext['command'];
  config: ZddConfig;
  host: Host;
  builder: Host;
  out: Reporter;
  flags: RunFlags;
  releaseId: string;
  previousId: string | undefined;
  state: DeployState;
}): DeployContext {
  const paths = pathsFor(opts.config);
  return {
    command: opts.command,
    config: opts.config,
    host: opts.host,
    builder: opts.builder,
    out: opts.out,
    paths,
    flags: opts.flags,
    release: releaseRef(paths, opts.releaseId),
    previous: opts.previousId ? releaseRef(paths, opts.previousId) : undefined,
    switched: false,
    timings: {},
    startedAt: new Date(),
    userMs: 0,
    interrupt: { requested: false, controller: new AbortController() },
    state: opts.state,
  };
}

/**
 * SIGINT/SIGTERM during a deploy: before the switch, cancel what runs and clean up; after it,
 * finish verifying (or switch back) before exiting. Returns a function that removes the handlers.
 */
export function trapSignals(ctx: DeployContext): () => void {
  const handler = (signal: NodeJS.Signals) => {
    if (ctx.interrupt.requested) {
      ctx.out.warn(`${signal} again: still ${ctx.switched ? 'finishing the switch safely' : 'cleaning up'}; please wait`);
      return;
    }
    ctx.interrupt.requested = true;
    ctx.interrupt.signal = signal;
    if (ctx.switched) ctx.out.warn(`${signal}: traffic already moved to ${ctx.release.id}; finishing the verify (or switching back) before exiting`);
    else {
      ctx.out.warn(`${signal}: stopping before the switch; the site stays on ${ctx.previous?.id ?? 'what it served'}`);
      ctx.interrupt.controller.abort();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
