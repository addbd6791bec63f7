/**
 * Bringing PM2 onto whatever `current` points at: write the ecosystem file, then start the app (first
 * deploy) or reload it worker by worker (`wait_ready`, drain after SIGINT). Shared by deploy, the
 * switch-back of a failed deploy, and rollback.
 */
import path from 'node:path';
import { CommandFailed, StepFailed } from '../errors.js';
import type { DeployContext } from '../steps/types.js';
import { appInstances, ecosystemSource, pm2Command, type Pm2Instance } from './pm2.js';

export async function pm2For(ctx: DeployContext): Promise<string[]> {
  if (!ctx.notes.pm2) ctx.notes.pm2 = await pm2Command(ctx.host);
  return ctx.notes.pm2 as string[];
}

/** Instances PM2 runs for the app, or [] when it does not know it. */
export async function instancesOf(ctx: DeployContext): Promise<Pm2Instance[]> {
  return appInstances(ctx.host, await pm2For(ctx), ctx.paths.root, ctx.config.app);
}

/** PM2 keeps the script path it was started with; one outside `current` would reload stale code. */
export function staleStart(ctx: DeployContext, instances: Pm2Instance[]): Pm2Instance | undefined {
  const expected = path.join(ctx.paths.current, 'backend') + path.sep;
  return instances.find((i) => !i.execPath.startsWith(expected));
}

export async function reloadInto(ctx: DeployContext, releaseId: string): Promise<'started' | 'reloaded'> {
  const pm2 = await pm2For(ctx);
  const cwd = ctx.paths.root; // a folder that never moves
  await ctx.host.writeFile(ctx.paths.ecosystem, ecosystemSource(ctx.config, ctx.paths, releaseId), { mode: 0o600 });
  const running = await instancesOf(ctx);
  const stale = staleStart(ctx, running);
  if (stale) {
    throw new StepFailed('pm2', `PM2 runs ${ctx.config.app} from ${stale.execPath}, not through ${ctx.paths.current}; a reload would keep running that code`, {
      hint: `start it once through zdd's ecosystem file: pm2 delete ${ctx.config.app} && pm2 start ${ctx.paths.ecosystem} (a short outage), then deploy again`,
    });
  }
  const opts = { cwd, signal: undefined, onOutput: ctx.out.verbose ? (c: string) => ctx.out.debug(c.trimEnd()) : undefined };
  if (running.length === 0) {
    await ctx.host.exec([...pm2, 'start', ctx.paths.ecosystem, '--only', ctx.config.app], opts);
    return 'started';
  }
  // A reload still running in the PM2 daemon (say, started by a zdd that was killed) makes PM2 refuse
  // a new one for that worker: wait for it to finish, then reload.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await ctx.host.exec([...pm2, 'reload', ctx.paths.ecosystem, '--only', ctx.config.app, '--update-env'], opts);
      return 'reloaded';
    } catch (err) {
      if (!(err instanceof CommandFailed) || !/already in progress/i.test(err.tail) || Date.now() > deadline) throw err;
      ctx.out.info('PM2 is still finishing an earlier reload; waiting for it');
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
