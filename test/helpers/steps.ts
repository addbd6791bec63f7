/**
 * Unit tests of single steps on a RecordingHost: a config with the schema's defaults, a context whose
 * host (and builder) records every call, releases seeded into its in-memory files, PM2 answered
 * through its rules, and `planAndRun` that hands `run` the plan `plan` returned, as the runner does.
 */
import path from 'node:path';
import { configSchema, type ZddConfig, type ZddConfigInput } from '../../src/config/schema.js';
import type { DeployContext, Plan, Step } from '../../src/core/types.js';
import { RecordingHost } from '../../src/host/recording.js';
import type { ExecOptions, ExecResult } from '../../src/host/types.js';
import type { ReleaseInfo } from '../../src/releases/release.js';
import { testContext } from './context.js';

/** Where the (imaginary) project lives on the builder; nothing is read there from disk. */
export const PROJECT = '/home/dev/zdd-step-test/shop';
export const DEPLOY_TO = '/srv/shop';

/** Release ids, oldest first: id(1) < id(2) < ... */
export const id = (n: number) => `2026112710${String(n).padStart(4, '0')}`;

/** A resolved config, defaults filled in by the schema, roots absolute (as loadConfig makes them). */
export function stepConfig(input: Partial<ZddConfigInput> = {}): ZddConfig {
  const c = configSchema.parse({ app: 'shop', deployTo: DEPLOY_TO, ...input });
  return {
    ...c,
    frontend: c.frontend && { ...c.frontend, root: path.resolve(PROJECT, c.frontend.root) },
    backend: c.backend && { ...c.backend, root: path.resolve(PROJECT, c.backend.root) },
    configPath: path.join(PROJECT, 'zdd.config.json'),
    projectDir: PROJECT,
  };
}

/** A backend for configs: server.js on port 4100, 2 instances, zdd's reload safety off. */
export const BACKEND = { script: 'server.js', port: 4100, instances: 2, reloadSafe: false } as const;

export interface StepContextOptions {
  config?: ZddConfig;
  command?: DeployContext['command'];
  releaseId?: string;
  previousId?: string;
  flags?: Partial<DeployContext['flags']>;
  /** A builder of its own (the machine zdd runs on); default: the target itself. */
  builder?: RecordingHost;
}

export function stepContext(opts: StepContextOptions = {}) {
  const host = new RecordingHost('deploy@web1');
  const { ctx, log } = testContext({
    config: opts.config ?? stepConfig(),
    host,
    releaseId: opts.releaseId ?? id(9),
    previousId: opts.previousId,
    flags: opts.flags,
  });
  ctx.command = opts.command ?? 'deploy';
  if (opts.builder) ctx.builder = opts.builder;
  // Every deploy and rollback starts with lock, which creates <deployTo>/.zdd (and so the deploy root).
  putDir(host, ctx.paths.state);
  return { ctx, host, log, paths: ctx.paths };
}

/** plan, then run with that plan (unless it skips), as the runner does. */
export async function planAndRun<T>(step: Step<T>, ctx: DeployContext): Promise<{ plan: Plan<T>; note: string | void | undefined }> {
  const plan = await step.plan(ctx);
  if (plan.skip !== undefined) return { plan, note: undefined };
  const note = await step.run(ctx, plan);
  return { plan, note };
}

/** A release folder in the host's memory: releases/<id>/release.json, and any files under it. */
export function seedRelease(host: RecordingHost, ctx: DeployContext, rid: string, info: Partial<ReleaseInfo> = {}, files: Record<string, string> = {}): string {
  const dir = path.join(ctx.paths.releases, rid);
  put(host, path.join(dir, 'release.json'), `${JSON.stringify({ id: rid, status: 'ok', createdAt: '2026-11-27T10:00:00.000Z', ...info }, null, 2)}\n`);
  for (const [rel, content] of Object.entries(files)) put(host, path.join(dir, rel), content);
  return dir;
}

/** A file in the host's memory, with its folders. */
export function put(host: RecordingHost, file: string, content: string): void {
  for (let d = path.dirname(file); !host.dirs.has(d); d = path.dirname(d)) host.dirs.add(d);
  host.files.set(file, content);
}

/** A folder in the host's memory, with its parents. */
export function putDir(host: RecordingHost, dir: string): void {
  for (let d = dir; !host.dirs.has(d); d = path.dirname(d)) host.dirs.add(d);
}

/** `current` -> releases/<id>, as zdd writes it. */
export function pointCurrent(host: RecordingHost, ctx: DeployContext, rid: string): void {
  putDir(host, ctx.paths.root);
  host.links.set(ctx.paths.current, `releases/${rid}`);
}

export function readJson<T = any>(host: RecordingHost, file: string): T {
  const text = host.files.get(file);
  if (text === undefined) throw new Error(`${file} is not in the recording host`);
  return JSON.parse(text) as T;
}

/** The calls to `method`, their arguments only. */
export function callsTo(host: RecordingHost, method: string): unknown[][] {
  return host.calls.filter((c) => c.method === method).map((c) => c.args);
}

/** The methods that change something on the host, in call order (`method arg0`). */
const MUTATIONS = new Set([
  'writeFile',
  'createExclusive',
  'mkdir',
  'remove',
  'rename',
  'symlinkAtomic',
  'symlink',
  'upload',
  'link',
  'linkTree',
  'writeBytes',
  'exec',
  'shell',
  'spawn',
]);
export function mutations(host: RecordingHost): string[] {
  return host.calls
    .filter((c) => MUTATIONS.has(c.method))
    .map((c) => `${c.method} ${Array.isArray(c.args[0]) ? (c.args[0] as string[]).join(' ') : String(c.args[0])}`);
}

/** What `pm2 jlist` prints for one instance. */
export interface Pm2Row {
  pmId?: number;
  name?: string;
  status?: string;
  release?: string;
  execPath?: string;
  execMode?: string;
  restarts?: number;
  uptime?: number;
  pid?: number;
  /** What zdd's code in the worker reported to PM2 ("zdd answers" / "zdd 5xx" custom metrics). */
  answers?: { answers: number; errors: number };
}

export function jlist(rows: Pm2Row[]): string {
  return JSON.stringify(
    rows.map((r, i) => ({
      pm_id: r.pmId ?? i,
      name: r.name ?? 'shop',
      pid: r.pid ?? 1000 + i,
      pm2_env: {
        ...(r.answers ? { axm_monitor: { 'zdd answers': { value: r.answers.answers }, 'zdd 5xx': { value: r.answers.errors } } } : {}),
        status: r.status ?? 'online',
        exec_mode: r.execMode ?? 'cluster_mode',
        pm_exec_path: r.execPath ?? `${DEPLOY_TO}/current/backend/server.js`,
        restart_time: r.restarts ?? 0,
        pm_uptime: r.uptime ?? Date.now() - 60_000,
        env: r.release ? { ZDD_RELEASE: r.release } : {},
      },
    })),
  );
}

type Answer = Partial<ExecResult> | undefined;

/**
 * PM2 on the host, through its rules: `pm2` on PATH at /usr/bin/pm2, a daemon running, and
 * `pm2 jlist` answering `rows()` (asked anew each time). `other` answers everything else.
 */
export function answerPm2(host: RecordingHost, rows: () => Pm2Row[], other: (line: string, opts: ExecOptions) => Answer = () => undefined): void {
  host.respond = (cmd, opts) => {
    const line = Array.isArray(cmd) ? cmd.join(' ') : cmd;
    if (line === 'sh -c command -v pm2') return { stdout: '/usr/bin/pm2\n' };
    if (line.startsWith('sh -c test -S ')) return { exitCode: 0 };
    if (line === '/usr/bin/pm2 jlist') return { stdout: `${jlist(rows())}\n` };
    return other(line, opts);
  };
}

/** Make `host.upload` copy the in-memory files of `from` (the builder) under localDir, as rsync would. */
export function uploadCopies(host: RecordingHost, from: RecordingHost): void {
  const record = host.upload.bind(host);
  host.upload = async (localDir, hostDir, opts) => {
    await record(localDir, hostDir, opts);
    const skip = new Set(opts?.exclude ?? []);
    for (const [file, content] of from.files) {
      if (!file.startsWith(`${localDir}/`)) continue;
      const rel = file.slice(localDir.length + 1);
      if (rel.split('/').some((part) => skip.has(part))) continue;
      put(host, path.join(hostDir, rel), content);
    }
  };
}
