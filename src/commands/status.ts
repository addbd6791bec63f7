/**
 * `zdd status`: what is deployed and whether it is healthy. Current release and when it went live,
 * each PM2 instance (status, the release it runs, uptime, restarts), Nginx's config test, the lock
 * holder. Exit 1 when something is wrong: nothing current, an instance not online or running a
 * release other than `current`, fewer instances than configured, the Nginx test failing, an
 * unreadable lock. Read-only (PM2 is only asked for its list; PM2_HOME comes from the environment).
 */
import { loadConfig } from '../config/load.js';
import { EXIT } from '../core/errors.js';
import type { ZddConfig } from '../config/schema.js';
import { tail } from '../host/local.js';
import type { Host } from '../host/types.js';
import type { WorkerAtLive } from '../core/types.js';
import { onEachHost } from './each-host.js';
import { describeHolder, readLock, type LockHolder } from '../steps/lock.js';
import { pathsFor } from '../releases/paths.js';
import { appInstances, pm2Command, type Pm2Instance } from '../pm2/pm2.js';
import { currentId, readRelease } from '../releases/release.js';
import { formatSpan, formatTime, renderTable } from '../output/table.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export interface InstanceRow {
  pmId: number;
  status: string;
  release: string | null;
  pid: number | null;
  uptimeMs: number | null;
  /** PM2's lifetime restart_time (it counts every reload too). */
  restarts: number;
  /**
   * Restarts since the current release went live (release.json `workersAtLive`); null when zdd has
   * no count for this worker from then (a worker started later, or a release recorded before zdd kept it).
   */
  restartsSinceLive: number | null;
  /** Runs the current release and is online. */
  ok: boolean;
}

export function instanceRows(list: Pm2Instance[], current: string | undefined, now = Date.now(), atLive?: WorkerAtLive[]): InstanceRow[] {
  const base = new Map((atLive ?? []).map((w) => [w.pmId, w]));
  const since = (i: Pm2Instance): number | null => {
    const b = base.get(i.pmId);
    // A count below the baseline: PM2 started the worker anew (pm2 delete/resurrect); zdd cannot tell from when.
    return b && i.restarts >= b.restarts ? i.restarts - b.restarts : null;
  };
  return list.map((i) => ({
    pmId: i.pmId,
    status: i.status,
    release: i.release,
    pid: i.pid,
    uptimeMs: i.status === 'online' && typeof i.uptimeStart === 'number' ? Math.max(0, now - i.uptimeStart) : null,
    restarts: i.restarts,
    restartsSinceLive: since(i),
    ok: i.status === 'online' && current !== undefined && i.release === current,
  }));
}

export function instancesTable(rows: InstanceRow[]): string {
  // Without any count from go-live (a release recorded by an older zdd), PM2's total, said so.
  const known = rows.some((r) => r.restartsSinceLive !== null);
  return renderTable(
    [
      { header: 'PM ID', align: 'right' },
      { header: 'STATUS' },
      { header: 'RELEASE' },
      { header: 'PID', align: 'right' },
      { header: 'UPTIME', align: 'right' },
      { header: known ? 'RESTARTS SINCE LIVE' : 'RESTARTS (PM2 TOTAL)', align: 'right' },
    ],
    rows.map((r) => [
      String(r.pmId),
      r.status,
      r.release,
      r.pid ? String(r.pid) : null,
      r.uptimeMs === null ? null : formatSpan(r.uptimeMs),
      known ? (r.restartsSinceLive === null ? '?' : String(r.restartsSinceLive)) : String(r.restarts),
    ]),
  );
}

/** The status of one host (this machine, or one of `hosts`). */
async function statusOn(config: ZddConfig, host: Host, io: CommandIO): Promise<CommandResult> {
  const paths = pathsFor(config);
  const problems: string[] = [];
  const warnings: string[] = [];
  const lines: Array<[string, string]> = [['app', `${config.app} in ${paths.root}`]];

  // Current release.
  const current = await currentId(host, paths);
  let currentJson: Record<string, unknown> | null = null;
  let atLive: WorkerAtLive[] | undefined;
  if (!current) {
    const raw = await host.readlink(paths.current);
    problems.push(raw ? `${paths.current} points at ${raw}, not at a release` : `nothing is current: ${paths.current} does not exist (deploy first)`);
    lines.push(['current', 'none']);
  } else {
    const info = await readRelease(host, paths, current);
    const present = await host.stat(`${paths.releases}/${current}`);
    if (!present) problems.push(`current points at ${current}, which is not in ${paths.releases}`);
    else if (!info) warnings.push(`the release.json of the current release ${current} is missing or corrupt`);
    const liveAt = info?.wentLiveAt;
    atLive = info?.workersAtLive;
    // Baking: a deploy or rollback still watches it (its lock is held) and has not recorded it yet.
    const bakeLeft = info?.bakingUntil ? Date.parse(info.bakingUntil) - Date.now() : Number.NaN;
    const baking = bakeLeft > 0 && (await readLock(host, paths)) !== undefined;
    currentJson = {
      id: current,
      wentLiveAt: liveAt ?? null,
      commit: info?.commit ?? null,
      rolledBackAt: info?.rolledBackAt ?? null,
      baking: baking ? { until: info!.bakingUntil, secondsLeft: Math.ceil(bakeLeft / 1000) } : null,
    };
    lines.push([
      'current',
      `${current}${info?.commit ? ` (${info.commit.slice(0, 8)})` : ''}${liveAt ? `, live since ${formatTime(liveAt)} UTC (${formatSpan(Date.now() - Date.parse(liveAt))} ago)` : ''}${baking ? `, baking: ${Math.ceil(bakeLeft / 1000)} s left (a breach switches back)` : ''}`,
    ]);
  }

  // PM2.
  let instances: InstanceRow[] = [];
  let pm2Error: string | null = null;
  if (config.backend) {
    try {
      const pm2 = await pm2Command(host);
      instances = instanceRows(await appInstances(host, pm2, paths.root, config.app), current, Date.now(), atLive);
    } catch (err) {
      pm2Error = (err as Error).message;
      problems.push(`cannot read PM2's process list: ${pm2Error}`);
    }
    const online = instances.filter((i) => i.status === 'online').length;
    const want = config.backend.instances === 'max' ? undefined : config.backend.instances;
    lines.push(['instances', pm2Error ? 'unknown' : `${online} online of ${instances.length}${want !== undefined ? ` (configured: ${want})` : ''}`]);
    if (!pm2Error) {
      if (instances.length === 0) problems.push(`PM2 runs no instance of ${config.app}`);
      else if (want !== undefined && online < want) problems.push(`${online} of ${want} configured instances online`);
      for (const i of instances) {
        if (i.status !== 'online') problems.push(`instance ${i.pmId} is ${i.status}`);
        if (current && i.release !== current) problems.push(`instance ${i.pmId} runs ${i.release ?? 'an unknown release'}, not current (${current})`);
      }
    }
  } else lines.push(['instances', 'no backend configured']);

  // Nginx.
  let nginxJson: Record<string, unknown> = { configured: false };
  if (config.nginx) {
    const r = await host
      .shell(config.nginx.test, { cwd: paths.root, readOnly: true, reject: false })
      .catch((err: Error) => ({ exitCode: -1, all: err.message }));
    const ok = r.exitCode === 0;
    nginxJson = { configured: true, test: config.nginx.test, ok, ...(ok ? {} : { output: tail(r.all, 5) }) };
    lines.push(['nginx', ok ? 'config test passes' : `config test FAILS (\`${config.nginx.test}\` exited with ${r.exitCode})`]);
    if (!ok) problems.push(`\`${config.nginx.test}\` fails: ${tail(r.all, 3).replace(/\n/g, ' | ')}`);
  } else lines.push(['nginx', 'not configured']);

  // Lock.
  const lock = await readLock(host, paths);
  let lockJson: (LockHolder & { alive: boolean | null }) | 'corrupt' | null = null;
  if (lock === undefined) lines.push(['lock', 'free']);
  else if (lock === 'corrupt') {
    lockJson = 'corrupt';
    lines.push(['lock', `unreadable (${paths.lock})`]);
    problems.push(`the lock ${paths.lock} is unreadable; deploys will refuse to start (\`zdd unlock --force\` once you are sure none runs)`);
  } else {
    const me = await host.identity();
    const alive = lock.host === me.hostname ? await host.processAlive(lock.pid) : null;
    lockJson = { ...lock, alive };
    lines.push(['lock', `held by ${describeHolder(lock)}${alive === false ? ' — that process is gone' : ''}`]);
    if (alive === false) warnings.push('the lock holder is gone; the next deploy takes the lock over (or run `zdd unlock`)');
  }

  const width = Math.max(...lines.map(([k]) => k.length));
  io.out.print(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  if (instances.length) io.out.print(`\n${instancesTable(instances)}`);
  for (const w of warnings) io.out.warn(w);
  for (const p of problems) io.out.warn(p);
  if (problems.length === 0) io.out.summary(true, `${config.app} is healthy${current ? ` on ${current}` : ''}`);
  else io.out.summary(false, `${problems.length} problem${problems.length === 1 ? '' : 's'} found`);

  return {
    exitCode: problems.length ? EXIT.failed : EXIT.ok,
    json: {
      app: config.app,
      current: currentJson,
      instances,
      ...(pm2Error ? { pm2Error } : {}),
      nginx: nginxJson,
      lock: lockJson,
      healthy: problems.length === 0,
      problems,
      warnings,
    },
  };
}

export async function statusCommand(opts: GlobalOptions, io: CommandIO): Promise<CommandResult> {
  const config = await loadConfig({ configPath: opts.config, cwd: io.cwd, checkSources: false });
  return onEachHost(config, io, statusOn, (results) => {
    const currents = results.map((r) => `${r.host}: ${(r.json.current as { id?: string } | null)?.id ?? 'none'}`);
    if (new Set(results.map((r) => (r.json.current as { id?: string } | null)?.id ?? null)).size > 1) {
      return [`the hosts disagree on current (${currents.join(', ')}); zdd rollback <id> puts them on one release`];
    }
    return [];
  });
}
