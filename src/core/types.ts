import type { ZddConfig } from '../config/schema.js';
import type { BackgroundProcess, Host } from '../host/types.js';
import type { BuildOnce } from '../build/build-once.js';
import type { Inputs, Part, Reuse, SharedPartInputs } from '../build/inputs.js';
import type { LockHolder } from '../steps/lock.js';
import type { Pm2Client } from '../pm2/pm2.js';
import type { Reporter } from '../output/reporter.js';

export interface Paths {
  root: string;
  releases: string;
  current: string;
  shared: string;
  /** zdd's own state: lock, history, nginx config hash. */
  state: string;
  lock: string;
  history: string;
  ecosystem: string;
}

export interface ReleaseRef {
  id: string;
  dir: string;
}

export interface RunFlags {
  dryRun: boolean;
  verbose: boolean;
  /** Seconds to wait for a held lock (0: fail at once). */
  lockWait: number;
  /** rollback: allow a release marked failed. deploy: deploy even when nothing changed. */
  force: boolean;
  /** deploy `--no-cache`: build and install everything; reuse nothing from earlier releases. */
  noCache?: boolean;
  /** rollback: the release named on the command line (undefined: the previous good one). */
  release?: string;
  /** `--bake <seconds>`: overrides rollout.bake for this run. */
  bake?: number;
}

/** What a step would do. `skip` says why there is nothing to do. */
export interface Plan<T = undefined> {
  skip?: string;
  summary: string;
  /** Details shown under `--dry-run`. */
  actions?: string[];
  /** What the plan found, handed to `run` (so `run` does not look again). */
  found?: T;
}

/** Everything a step needs. Passed explicitly; there is no module-level state. */
export interface DeployContext {
  command: 'deploy' | 'rollback';
  config: ZddConfig;
  /** The target: where releases live and the app runs. */
  host: Host;
  /** Where builds run (the machine zdd runs on). */
  builder: Host;
  out: Reporter;
  paths: Paths;
  flags: RunFlags;
  /** The release being deployed (or rolled back to). */
  release: ReleaseRef;
  /** What `current` pointed at when zdd started, if anything. */
  previous?: ReleaseRef;
  /** True once `current` points at `release`. */
  switched: boolean;
  /** Step id -> milliseconds, filled by the runner. */
  timings: Record<string, number>;
  startedAt: Date;
  /** Time spent in commands the user wrote (builds, install, hooks, nginx), in ms. */
  userMs: number;
  /** Set by a SIGINT/SIGTERM handler; cancels running commands before the switch. */
  interrupt: { requested: boolean; signal?: string; controller: AbortController };
  /** What steps find out and later steps (or the cleanup) use; every field is set by one step. */
  state: DeployState;
}

/** The backend part, started alongside the frontend build (build-frontend), awaited by build-backend. */
export interface BackendJob {
  promise: Promise<{ note: string; ms: number }>;
  controller: AbortController;
  consumed: boolean;
}

/** The facts a deploy or rollback carries from step to step, each with the step that sets it. */
export interface DeployState {
  /** lock: the holder record this run wrote (the cleanup releases only its own lock). */
  lock?: LockHolder;
  /** build-frontend: the backend part running alongside it. */
  backendJob?: BackendJob;
  /** Parts that ran alongside another step, id -> ms (release.json `parallel`). */
  parallel?: Record<string, number>;
  /** Input hashes of this run (computed once; build-frontend starts it). */
  inputs?: Promise<Inputs | undefined>;
  /** Per part: the kept release it can be taken from, or why not (computed once). */
  reuse?: Partial<Record<Part, Promise<Reuse>>>;
  /** Parts taken from earlier releases, part -> release id (release.json `reused`). */
  reused?: Partial<Record<Part, string>>;
  /** With hosts: what the builder built once for every host, and the input hashes they share. */
  buildOnce?: BuildOnce;
  sharedInputs?: SharedPartInputs;
  /** With hosts: this host's place in the list (hooks that run once run on host 0). */
  hostIndex?: number;
  /** canary: the process, and its drain once it passed (the cleanup waits for it). */
  canary?: BackgroundProcess;
  canaryStopped?: Promise<void>;
  /** switch: when traffic moved (release.json `wentLiveAt`). */
  liveAt?: string;
  /** PM2: its CLI argv, its API module (loaded early), the in-process client, what the pm2 step did. */
  pm2?: string[];
  pm2Api?: Promise<any>;
  pm2Client?: Pm2Client;
  pm2Action?: 'started' | 'reloaded';
  /** verify: how many instances run the release. */
  instances?: number;
  /** verify: each worker's PM2 counters when the release went live (release.json `workersAtLive`). */
  liveWorkers?: WorkerAtLive[];
  /** pm2: what the workers of the release before had answered when the switch came (the bake's baseline). */
  before?: AnswerTotals;
  /** bake: what it watched and how it ended (release.json and --json `bake`). */
  bake?: BakeReport;
}

/** A PM2 worker when its release went live: `zdd status` counts restarts from here, not PM2's lifetime total. */
export interface WorkerAtLive {
  pmId: number;
  /** PM2's restart_time then (it counts reloads too). */
  restarts: number;
  /** PM2's pm_uptime then (ms since the epoch), null when PM2 did not say. */
  uptimeStart: number | null;
}

/** Answers of the app's workers, summed: all of them, and the 5xx among them (counted when `counted`). */
export interface AnswerTotals {
  answers: number;
  errors: number;
  /** Whether zdd's code in the workers counts answers at all (backend.reloadSafe or zdd/runtime). */
  counted: boolean;
}

export interface BakeReport {
  seconds: number;
  /** ms it watched (shorter when it ended early: a breach, or Ctrl-C). */
  watchedMs: number;
  answers: number;
  errors: number;
  /** 5xx share of the answers during the bake, and of the release before (null: nothing counted). */
  rate: number | null;
  rateBefore: number | null;
  restarts: number;
  result: 'ok' | 'breach' | 'kept' | 'stopped';
  /** What breached, when it did ("5xx 38% over 6 s vs 0% before"). */
  reason?: string;
}

export interface Step<T = undefined> {
  /** 'build-frontend', 'switch', 'pm2', ... */
  id: string;
  /** Read-only: what would change; `{ skip }` when already done or not configured. */
  plan(ctx: DeployContext): Promise<Plan<T>>;
  /** Does the work, given what its plan found; safe to repeat. Returns an optional note shown next to the duration. */
  run(ctx: DeployContext, plan: Plan<T>): Promise<string | void>;
  /**
   * Starts the work early without waiting for it, when the step named `beginsWith` starts (the story
   * says which); `run` then waits for what began.
   */
  begin?(ctx: DeployContext): void;
  /** Set by the story (deploy/story.ts): the step during which this one begins. */
  beginsWith?: string;
  /** The post-condition; throws when it does not hold. */
  verify?(ctx: DeployContext): Promise<void>;
  /** Reverts `run` after a later step failed; safe to repeat. */
  undo?(ctx: DeployContext): Promise<void>;
  /** Always called at the end for every step that started (release the lock, stop the canary). */
  cleanup?(ctx: DeployContext): Promise<void>;
}

/** A step of any plan type, as the runner and the story hold them. */
export type AnyStep = Step<any>;
