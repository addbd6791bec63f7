/**
 * Deploying to several hosts over SSH, with the one-host guarantees on each:
 * 1. connect to every host (one master connection each);
 * 2. prepare every host in parallel — lock, the release folder, the build (run here once, then
 *    rsync'd with --link-dest against the host's current release), install, shared, hooks, canary,
 *    nginx test, PM2 check. A failure on any host stops here: nothing was switched anywhere;
 * 3. switch: all hosts at once, or `rollout.batch` at a time, each batch verified before the next.
 *    A failure rolls every host that was switched back to the release it served (undo of its steps);
 * 4. record and prune on every host.
 * Each host runs the very steps of a one-host deploy (steps/*) through its own DeployContext.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandResult } from '../commands/common.js';
import type { ZddConfig } from '../config/schema.js';
import { EXIT, StepFailed, ZddError, exitCodeOf } from '../core/errors.js';
import { LocalHost } from '../host/local.js';
import { PrintingHost } from '../host/printing.js';
import { parseHostString } from '../core/host-string.js';
import { SshHost, type SshTarget } from '../host/ssh.js';
import type { Host } from '../host/types.js';
import { formatMs, type Reporter } from '../output/reporter.js';
import { Interrupted, StepSession, planSteps } from './runner.js';
import type { DeployContext, RunFlags, AnyStep } from '../core/types.js';
import { buildOnceOf, type BuildOnce } from '../build/build-once.js';
import { newContext, trapSignals } from './context.js';
import type { SharedPartInputs } from '../build/inputs.js';
import { pathsFor } from '../releases/paths.js';
import { appendHistory, currentId, runEntry } from '../releases/release.js';
import { closePm2 } from '../pm2/reload.js';

export interface HostEntry {
  target: SshTarget;
  /** This host's config: the shared one with its own deployTo. */
  config: ZddConfig;
}

/** The hosts of a config, each with its own deployTo and environment. */
export function hostEntries(config: ZddConfig): HostEntry[] {
  return (config.hosts ?? []).map((h) => {
    if (typeof h === 'string') {
      // The config's loader checked the string already.
      const target = parseHostString(h);
      if (!target) throw new ZddError(`hosts: "${h}" is not user@host[:port]`);
      return { target, config };
    }
    const target: SshTarget = { host: h.host, ...(h.user ? { user: h.user } : {}), ...(h.port ? { port: h.port } : {}), ...(h.env ? { env: h.env } : {}) };
    return { target, config: h.deployTo ? { ...config, deployTo: h.deployTo } : config };
  });
}

export interface Fleet {
  hosts: SshHost[];
  connectMs: number;
  entries: HostEntry[];
  close(): Promise<void>;
}

/** Connect to every host at once; if one cannot be reached, close the others and say which. */
export async function connectFleet(config: ZddConfig, out: Reporter): Promise<Fleet> {
  const controlDir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdd-ssh-'));
  await fs.chmod(controlDir, 0o700);
  const entries = hostEntries(config);
  const hosts = entries.map((e) => new SshHost(e.target, { identityFile: config.ssh?.identityFile, options: config.ssh?.options ?? [], controlDir }));
  const close = async () => {
    await Promise.all(hosts.map((h) => h.close().catch(() => {})));
    await fs.rm(controlDir, { recursive: true, force: true });
  };
  const t0 = performance.now();
  const results = await Promise.allSettled(hosts.map((h) => h.connect()));
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${hosts[i]!.name}: ${(r.reason as Error).message.replace(`${hosts[i]!.name}: `, '')}`] : [],
  );
  if (failed.length) {
    await close();
    throw new StepFailed('connect', failed.join('; '), { hint: (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason?.hint });
  }
  const connectMs = Math.round(performance.now() - t0);
  out.info(`connected to ${hosts.length} host${hosts.length === 1 ? '' : 's'} in ${formatMs(connectMs)}: ${hosts.map((h) => h.name).join(', ')}`);
  return { hosts, entries, close, connectMs };
}

/** One host's share of a multi-host run. */
export interface HostRun {
  host: SshHost;
  ctx: DeployContext;
  session: StepSession;
}

export async function hostContexts(opts: {
  fleet: Fleet;
  command: DeployContext['command'];
  out: Reporter;
  flags: RunFlags;
  releaseId: string;
}): Promise<HostRun[]> {
  const width = Math.max(...opts.fleet.hosts.map((h) => h.name.length));
  const builder: Host = opts.flags.dryRun ? new PrintingHost(new LocalHost(), (l) => opts.out.info(l)) : new LocalHost();
  // What every host's build steps share: the user's build commands run once, here.
  const buildOnce: BuildOnce = { dirs: [] };
  // ...and the project's files are hashed once for all of them.
  const sharedInputs: SharedPartInputs = {};
  return Promise.all(
    opts.fleet.hosts.map(async (host, i) => {
      const config = opts.fleet.entries[i]!.config;
      const out = opts.out.forHost(host.name, width);
      const target: Host = opts.flags.dryRun ? new PrintingHost(host, (l) => out.info(l)) : host;
      const paths = pathsFor(config);
      const prev = await currentId(host, paths);
      opts.out.addSecrets(Object.values(config.backend?.env ?? {}));
      // A host's environment may hold secrets too; paths and the usual plain settings are shown.
      const plain = new Set(['PATH', 'PM2_HOME', 'HOME', 'NODE_ENV', 'LANG', 'TZ']);
      opts.out.addSecrets(
        Object.entries(opts.fleet.entries[i]!.target.env ?? {})
          .filter(([k, v]) => !plain.has(k) && !v.startsWith('/'))
          .map(([, v]) => v),
      );
      const ctx = newContext({
        command: opts.command,
        config,
        host: target,
        builder,
        out,
        flags: opts.flags,
        releaseId: opts.releaseId,
        previousId: prev,
        state: { buildOnce, sharedInputs, hostIndex: i },
      });
      return { host, ctx, session: new StepSession(ctx) };
    }),
  );
}

/** Batches of hosts switched together: `rollout.batch` at a time, or all at once. */
export function batchesOf<T>(items: T[], size: number | undefined): T[][] {
  const n = size && size > 0 ? size : items.length;
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

export interface Phases {
  /** Every host, in parallel; nothing is switched anywhere until all succeeded. */
  prepare: (r: HostRun) => AnyStep[];
  /** A batch at a time. */
  switch: AnyStep[];
  /** Every host, once all batches are verified. */
  finish: AnyStep[];
}

export interface MultiExecution {
  done: string;
  what: string;
  json?: Record<string, unknown>;
  /** How long connecting to the hosts took (reported with the phases). */
  connectMs?: number;
  /** Per host, after its steps failed and were undone (only hosts whose lock was taken). */
  afterFailure?: (run: HostRun, message: string) => Promise<void>;
}

function hostJson(r: HostRun) {
  return {
    host: r.host.name,
    deployTo: r.ctx.paths.root,
    previous: r.ctx.previous?.id ?? null,
    steps: r.session.reports.map((s) => ({ id: s.id, status: s.status, ms: s.ms, ...(s.note ? { note: s.note } : {}) })),
    timings: r.ctx.timings,
    ...(r.ctx.state.bake ? { bake: r.ctx.state.bake } : {}),
    transfer: { sentBytes: r.host.transfer.sent, totalBytes: r.host.transfer.total },
  };
}

/** Run `steps` on several hosts at once; the first failure (all are awaited) is rethrown. */
async function onAll(runs: HostRun[], steps: (r: HostRun) => AnyStep[]): Promise<void> {
  const results = await Promise.allSettled(runs.map((r) => r.session.run(steps(r))));
  const failures = results.flatMap((res, i) => (res.status === 'rejected' ? [{ run: runs[i]!, err: res.reason as Error }] : []));
  if (failures.length === 0) return;
  // A held lock (exit 3) or bad usage (exit 2) says more about the run than a failed step elsewhere.
  const first = failures.find((f) => f.err instanceof ZddError && exitCodeOf(f.err) !== EXIT.failed) ?? failures[0]!;
  const err = first.err instanceof ZddError ? first.err : new StepFailed('?', String(first.err));
  err.message = `${first.run.host.name}: ${err.message}`;
  const others = failures.filter((f) => f !== first);
  if (others.length) err.message += ` (and ${others.map((f) => f.run.host.name).join(', ')})`;
  throw err;
}

/**
 * The two-phase run over every host. Returns the command result; throws a ZddError (exit 1, or 3
 * when a host's lock is held) after every host is back on what it served.
 */
export async function executeOnHosts(runs: HostRun[], phases: Phases, out: Reporter, run: MultiExecution, rolloutBatch?: number): Promise<CommandResult> {
  const first = runs[0]!.ctx;
  const releaseJson = { id: first.release.id, previous: [...new Set(runs.map((r) => r.ctx.previous?.id ?? null))] };
  if (first.flags.dryRun) {
    for (const r of runs) await planSteps([...phases.prepare(r), ...phases.switch, ...phases.finish], r.ctx);
    out.summary(true, 'dry run: nothing was changed on any host');
    return { exitCode: EXIT.ok, json: { dryRun: true, release: releaseJson, ...run.json, hosts: runs.map(hostJson) } };
  }

  const untraps = runs.map((r) => trapSignals(r.ctx));
  const t0 = Date.now();
  const phaseMs: { connect?: number; prepare?: number; switch?: number; finish?: number } = { connect: run.connectMs };
  try {
    out.info(`prepare ${runs.length} host${runs.length === 1 ? '' : 's'} in parallel`);
    let mark = performance.now();
    const lap = (name: keyof typeof phaseMs) => {
      phaseMs[name] = Math.round(performance.now() - mark);
      mark = performance.now();
    };
    await onAll(runs, phases.prepare);
    lap('prepare');
    const batches = batchesOf(runs, rolloutBatch);
    for (const [i, batch] of batches.entries()) {
      // Ctrl-C between batches: stop rolling out; the hosts already switched go back (undo below),
      // so every host ends on one release.
      const stop = runs.find((r) => r.ctx.interrupt.requested);
      if (stop && i > 0)
        throw new Interrupted(
          `stopped by ${stop.ctx.interrupt.signal ?? 'a signal'} before batch ${i + 1} of ${batches.length}; switching the switched hosts back`,
        );
      if (batches.length > 1) out.info(`switch batch ${i + 1}/${batches.length}: ${batch.map((r) => r.host.name).join(', ')}`);
      else out.info(`every host is ready: switch ${runs.length === 1 ? 'it' : `all ${runs.length}`}`);
      await onAll(batch, () => phases.switch);
    }
    lap('switch');
    await onAll(runs, () => phases.finish);
    lap('finish');
    out.info(
      `prepare ${formatMs(phaseMs.prepare!)} (every host), switch ${formatMs(phaseMs.switch!)} (${batches.length} batch${batches.length === 1 ? '' : 'es'}), finish ${formatMs(phaseMs.finish!)}`,
    );
    out.summary(true, `${run.done} on ${runs.length} host${runs.length === 1 ? '' : 's'} in ${formatMs(Date.now() - t0)}`);
    return { exitCode: EXIT.ok, json: { release: releaseJson, ...run.json, phases: phaseMs, hosts: runs.map(hostJson) } };
  } catch (err) {
    // Every host goes back to what it served: undo its completed steps (a switched one switches back).
    await Promise.all(runs.map((r) => r.session.undo()));
    const message = (err as Error).message;
    await Promise.all(runs.map((r) => recordHostFailure(r, message, run)));
    const serving = runs.map((r) => `${r.host.name}: ${(r.ctx.switched ? r.ctx.release.id : r.ctx.previous?.id) ?? 'nothing'}`).join(', ');
    if (err instanceof ZddError && exitCodeOf(err) === EXIT.failed)
      err.hint = [err.hint, `every host serves what it served before (${serving})`].filter(Boolean).join('; ');
    out.summary(false, `${run.what} failed; ${serving}`);
    throw Object.assign(err as object, { json: { release: releaseJson, ...run.json, hosts: runs.map(hostJson) } });
  } finally {
    await Promise.all(runs.map((r) => r.session.cleanup()));
    await Promise.all(runs.map((r) => closePm2(r.ctx)));
    for (const u of untraps) u();
  }
}

async function recordHostFailure(r: HostRun, message: string, run: MultiExecution): Promise<void> {
  const ctx = r.ctx;
  if (!ctx.state.lock) return;
  await run.afterFailure?.(r, message).catch(() => {});
  const me = await ctx.host.identity().catch(() => ({ user: 'unknown', hostname: r.host.name }));
  await appendHistory(ctx.host, ctx.paths, runEntry(ctx, me, { result: 'failed', error: message })).catch(() => {});
}

/** A step that does nothing on this host, saying why (beforeSwitch on the first host only). */
export function skipped(step: AnyStep, why: string): AnyStep {
  return { id: step.id, plan: async () => ({ skip: why, summary: '' }), run: async () => undefined };
}

export { buildOnceOf, type BuildOnce };
