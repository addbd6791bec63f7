/**
 * `zdd doctor`'s rows, in the order it prints them: this machine's Node, the config, then the
 * machine that will run the app (this one, or each host over SSH, with the same targetChecks), then
 * the app and the project, checked here. It starts no daemon and changes no config; it runs
 * `backend.build` in the working tree as a deploy does, stages the backend in a temp folder with
 * `backend.install` (its node_modules cached under ~/.cache/zdd/doctor, stage.ts) and boots that
 * copy once, on a spare port (as the canary does).
 */
import type { GlobalOptions } from '../commands/common.js';
import type { ZddConfig } from '../config/schema.js';
import type { ZddError } from '../core/errors.js';
import { LocalHost } from '../host/local.js';
import type { Host } from '../host/types.js';
import type { Reporter } from '../output/reporter.js';
import { checkAppHandling } from './app.js';
import { checkAppLifecycle } from './boot.js';
import { row, type Check } from './check.js';
import { checkConfigLoads, checkSessionStore } from './project.js';
import { checkNode, targetChecks } from './target.js';

export type { Check, CheckLevel } from './check.js';

export async function runChecks(opts: GlobalOptions, cwd: string, out: Reporter, host: Host = new LocalHost()): Promise<Check[]> {
  const { check: configCheck, config } = await checkConfigLoads(opts, cwd, (v) => out.addSecrets(v));
  if (config?.hosts?.length) {
    // zdd runs here (this machine's Node); the app runs on every host, each checked over SSH.
    return [checkNode(), configCheck, ...(await hostChecks(config, out)), ...(await appChecks(config, host))];
  }
  // The target is this machine. Its Node comes first, before the config its loader just read.
  const [node, ...machine] = await targetChecks(host, config);
  return [node!, configCheck, ...machine, ...(config ? await appChecks(config, host) : [])];
}

/** The app's own checks (ready, drain, sessions): on this machine, whatever the target. */
async function appChecks(config: ZddConfig, host: Host): Promise<Check[]> {
  const checks = [checkAppHandling(config)];
  if (config.backend) checks.push(...(await checkAppLifecycle(config, host)), checkSessionStore(config));
  return checks;
}

/** With `hosts`: connect to every host (host key, key), then the target's checks on each, with its own deployTo. */
async function hostChecks(config: ZddConfig, out: Reporter): Promise<Check[]> {
  const { connectFleet } = await import('../deploy/hosts.js');
  let fleet: Awaited<ReturnType<typeof connectFleet>>;
  try {
    fleet = await connectFleet(config, out);
  } catch (err) {
    return [row('ssh', 'fail', (err as Error).message, (err as ZddError).hint)];
  }
  try {
    const checks: Check[] = [];
    for (const [i, h] of fleet.hosts.entries()) checks.push(...(await targetChecks(h, fleet.entries[i]!.config, { label: h.name })));
    return checks;
  } finally {
    await fleet.close();
  }
}
