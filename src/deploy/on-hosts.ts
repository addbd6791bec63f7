/**
 * `zdd deploy` and `zdd rollback` when the config has `hosts`: the same steps as on one machine, run
 * on every host through SSH in two phases (see deploy/hosts.ts). One release id on every host.
 */
import type { ZddConfig } from '../config/schema.js';
import { EXIT, UsageError } from '../core/errors.js';
import { runHook } from '../steps/hooks.js';
import { inputsFor } from '../build/inputs.js';
import { buildOnceOf, connectFleet, executeOnHosts, hostContexts, skipped, type HostRun, type Phases } from './hosts.js';
import { freshReleaseId, pathsFor, releaseRef } from '../releases/paths.js';
import { currentId, failedRecord, recordFailedBake, updateRelease } from '../releases/release.js';
import { loadCandidates, needsOf, selectTarget } from '../releases/select.js';
import { unchangedSince } from './unchanged.js';
import { beforeSwitch } from '../steps/hooks.js';
import { phasesOf } from './story.js';
import type { RunFlags } from '../core/types.js';
import type { CommandIO, CommandResult } from '../commands/common.js';

export async function deployOnHosts(config: ZddConfig, flags: RunFlags, io: CommandIO): Promise<CommandResult> {
  const fleet = await connectFleet(config, io.out);
  let runs: HostRun[] = [];
  try {
    const id = await freshReleaseId(
      fleet.hosts.map((host, i) => ({ host, releases: pathsFor(fleet.entries[i]!.config).releases })),
      new Date(),
    );
    runs = await hostContexts({ fleet, command: 'deploy', out: io.out, flags, releaseId: id });
    for (const r of runs) void inputsFor(r.ctx);

    if (!flags.force && !flags.noCache) {
      const same = await Promise.all(runs.map((r) => unchangedSince(r.ctx)));
      const ids = new Set(same.map((s) => ('id' in s ? s.id : undefined)));
      if (same.every((s) => 'id' in s) && ids.size === 1) {
        const cur = [...ids][0]!;
        io.out.summary(
          true,
          `nothing changed since ${cur}, which is current and running on every host: no new release, no reload (zdd deploy --force deploys anyway)`,
        );
        return {
          exitCode: EXIT.ok,
          json: {
            noop: true,
            reason: 'nothing changed',
            release: { id: cur, previous: cur },
            hosts: runs.map((r) => ({ host: r.host.name, steps: [] })),
            steps: [],
          },
        };
      }
      same.forEach((s, i) => {
        if ('changed' in s && s.changed) runs[i]!.ctx.out.info(`changed since ${runs[i]!.ctx.previous!.id}: ${s.changed}`);
      });
    }

    const parts = phasesOf('deploy');
    const everywhere = config.rollout.beforeSwitch === 'all';
    const firstName = runs[0]!.host.name;
    const phases: Phases = {
      prepare: (r) =>
        everywhere || r.ctx.state.hostIndex === 0
          ? parts.prepare
          : parts.prepare.map((s) =>
              s.id === beforeSwitch.id && config.hooks.beforeSwitch.length ? skipped(s, `runs on ${firstName} only (rollout.beforeSwitch: "first")`) : s,
            ),
      switch: parts.switch,
      finish: parts.finish,
    };
    if (flags.dryRun) io.out.info(`dry run: deploy of ${config.app} to ${runs.length} hosts as release ${id}; nothing will change`);
    const result = await executeOnHosts(
      runs,
      phases,
      io.out,
      {
        done: `deployed ${config.app} ${id}`,
        what: `deploy of ${id}`,
        connectMs: fleet.connectMs,
        async afterFailure(r, message) {
          await updateRelease(r.ctx.host, r.ctx.paths, id, failedRecord(r.ctx, message)).catch(() => {});
          if (config.hooks.onFailure.length && (everywhere || r.ctx.state.hostIndex === 0)) {
            await runHook(r.ctx, 'onFailure').catch((e: Error) => r.ctx.out.warn(`hooks.onFailure failed: ${e.message}`));
          }
        },
      },
      config.rollout.batch,
    );
    if (!flags.dryRun && config.hooks.afterDeploy.length) {
      for (const r of everywhere ? runs : runs.slice(0, 1)) {
        await runHook(r.ctx, 'afterDeploy').catch((e: Error) => r.ctx.out.warn(`hooks.afterDeploy failed (the deploy stands): ${e.message}`));
      }
    }
    return result;
  } finally {
    const once = runs[0] ? buildOnceOf(runs[0].ctx) : undefined;
    for (const d of once?.dirs ?? []) await runs[0]!.ctx.builder.remove(d);
    await fleet.close();
  }
}

export async function rollbackOnHosts(config: ZddConfig, flags: RunFlags, io: CommandIO): Promise<CommandResult> {
  const requested = flags.release;
  const fleet = await connectFleet(config, io.out);
  try {
    // Choose on every host; they must agree on one release id, which every host must have.
    const choices = await Promise.all(
      fleet.hosts.map(async (h, i) => {
        const paths = pathsFor(fleet.entries[i]!.config);
        try {
          const current = await currentId(h, paths);
          const input = {
            requested,
            current,
            candidates: await loadCandidates(h, paths),
            force: flags.force,
            needs: needsOf(config),
          };
          // A named release that is already current here: this host is there (hosts that disagree
          // are put back on one release this way).
          const sel = selectTarget(requested === undefined ? input : { ...input, current: undefined });
          return { ...sel, already: sel.id === current };
        } catch (err) {
          (err as Error).message = `${h.name}: ${(err as Error).message}`;
          throw err;
        }
      }),
    );
    const ids = [...new Set(choices.map((c) => c.id))];
    if (ids.length > 1) {
      throw new UsageError(`the hosts would roll back to different releases (${choices.map((c, i) => `${fleet.hosts[i]!.name}: ${c.id}`).join(', ')})`, {
        hint: 'name the release: zdd rollback <id>',
      });
    }
    const id = ids[0]!;
    for (const n of new Set(choices.flatMap((c) => c.notes))) io.out.warn(n);
    if (choices.every((c) => c.already)) {
      throw new UsageError(`${id} is already current on every host; nothing to roll back to`, { hint: 'see `zdd releases` for the other kept releases' });
    }
    const all = await hostContexts({ fleet, command: 'rollback', out: io.out, flags, releaseId: id });
    for (const [i, r] of all.entries()) if (choices[i]!.already) r.ctx.out.info(`already on ${id}; left as it is`);
    const runs = all.filter((_, i) => !choices[i]!.already);
    for (const r of runs) r.ctx.release = releaseRef(r.ctx.paths, id);
    const parts = phasesOf('rollback');
    const from = [...new Set(runs.map((r) => r.ctx.previous?.id ?? 'nothing'))].join('/');
    io.out.info(`${flags.dryRun ? 'dry run: ' : ''}rolling back ${config.app} on ${runs.length} hosts: ${from} -> ${id}`);
    return await executeOnHosts(
      runs,
      { prepare: () => parts.prepare, switch: parts.switch, finish: parts.finish },
      io.out,
      {
        done: `rolled back ${config.app} to ${id}`,
        what: `rollback to ${id}`,
        connectMs: fleet.connectMs,
        json: { forced: choices.some((c) => c.forced) },
        afterFailure: (r, message) => recordFailedBake(r.ctx, message),
      },
      config.rollout.batch,
    );
  } finally {
    await fleet.close();
  }
}
