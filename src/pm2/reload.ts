/**
 * Bringing PM2 onto whatever `current` points at: write the ecosystem file, then start the app (first
 * deploy) or reload it worker by worker (`wait_ready`, drain after SIGINT). Shared by deploy, the
 * switch-back of a failed deploy, and rollback.
 */
import path from 'node:path';
import { CommandFailed, StepFailed } from '../core/errors.js';
import { onThisMachine } from '../host/types.js';
import type { DeployContext } from '../core/types.js';
import { ensureReloadSafety } from './reload-safety.js';
import { Pm2Client, RELOAD_IN_PROGRESS, ecosystemSource, pm2Command, type Pm2Instance } from './pm2.js';

export async function pm2For(ctx: DeployContext): Promise<string[]> {
  if (!ctx.state.pm2) ctx.state.pm2 = await pm2Command(ctx.host);
  return ctx.state.pm2;
}

function clientFor(ctx: DeployContext): Pm2Client {
  if (!ctx.state.pm2Client) ctx.state.pm2Client = new Pm2Client(ctx.host, () => pm2For(ctx), ctx.paths.root, ctx.state.pm2Api);
  return ctx.state.pm2Client;
}

/** Instances PM2 runs for the app, or [] when it does not know it. */
export async function instancesOf(ctx: DeployContext): Promise<Pm2Instance[]> {
  const list = await clientFor(ctx).list();
  return list.filter((p) => p.name === ctx.config.app);
}

/** Close the connection to the PM2 daemon that instancesOf opened (it would keep zdd alive). */
export async function closePm2(ctx: DeployContext): Promise<void> {
  await ctx.state.pm2Client?.close();
  ctx.state.pm2Client = undefined;
}

/**
 * Can zdd reload what PM2 runs? PM2 keeps the script path it was started with, so an app started by
 * hand from a resolved release path would keep running that code; and a fork-mode app is restarted,
 * not reloaded (an outage). Both need one manual restart through zdd's ecosystem file.
 */
export function assertManageable(ctx: DeployContext, instances: Pm2Instance[], step: string): void {
  const expected = path.join(ctx.paths.current, 'backend') + path.sep;
  const fix = `pm2 delete ${ctx.config.app} && pm2 start ${ctx.paths.ecosystem} (a short outage, once), then deploy again`;
  const stale = instances.find((i) => !i.execPath.startsWith(expected));
  if (stale) {
    throw new StepFailed(step, `PM2 runs ${ctx.config.app} from ${stale.execPath}, not through ${ctx.paths.current}; a reload would keep running that code`, {
      hint: fix,
    });
  }
  const fork = instances.find((i) => i.execMode && i.execMode !== 'cluster_mode');
  if (fork) {
    throw new StepFailed(step, `PM2 runs ${ctx.config.app} in ${fork.execMode.replace('_mode', '')} mode; a reload there is a restart with an outage`, {
      hint: fix,
    });
  }
}

export async function reloadInto(ctx: DeployContext, releaseId: string): Promise<'started' | 'reloaded'> {
  const cwd = ctx.paths.root; // a folder that never moves
  // A release made before zdd shipped its reload safety (a rollback to it) gets it now.
  await ensureReloadSafety(ctx.host, ctx.config, path.join(ctx.paths.releases, releaseId));
  await ctx.host.writeFile(ctx.paths.ecosystem, ecosystemSource(ctx.config, ctx.paths, releaseId), { mode: 0o600 });
  const running = await instancesOf(ctx);
  assertManageable(ctx, running, 'pm2');
  const opts = { cwd, signal: undefined, onOutput: ctx.out.verbose ? (c: string) => ctx.out.debug(c.trimEnd()) : undefined };
  if (running.length === 0) {
    await ctx.host.exec([...(await pm2For(ctx)), 'start', ctx.paths.ecosystem, '--only', ctx.config.app], opts);
    return 'started';
  }
  const argv = ['reload', ctx.paths.ecosystem, '--only', ctx.config.app, '--update-env'];
  // On this machine PM2's daemon is reloaded in-process, the way its CLI would (Pm2Client.reload):
  // no CLI start (Node + PM2's modules, ~0.5 s). Any other host runs the CLI there.
  const inProcess = onThisMachine(ctx.host);
  const reload = async (): Promise<void> => {
    if (inProcess) {
      let done: boolean;
      try {
        done = await clientFor(ctx).reload(ctx.paths.ecosystem, ctx.config.app);
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (ctx.out.verbose) ctx.out.debug(`PM2: ${message}`);
        const failed = new CommandFailed(`pm2 ${argv.join(' ')}`, undefined, message, { cause: err });
        failed.message = `\`pm2 ${argv.join(' ')}\` (through PM2's API, in-process) failed`;
        throw failed;
      }
      if (done) return;
    }
    await ctx.host.exec([...(await pm2For(ctx)), ...argv], opts);
  };
  // A reload still running in the PM2 daemon (say, started by a zdd that was killed) makes PM2 refuse
  // a new one for that worker: wait for it to finish, then reload.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await reload();
      return 'reloaded';
    } catch (err) {
      if (!(err instanceof CommandFailed) || !RELOAD_IN_PROGRESS.test(err.tail) || Date.now() > deadline) throw err;
      ctx.out.info('PM2 is still finishing an earlier reload; waiting for it');
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
