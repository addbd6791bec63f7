import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
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
}

/** What a step would do. `skip` says why there is nothing to do. */
export interface Plan {
  skip?: string;
  summary: string;
  /** Details shown under `--dry-run`. */
  actions?: string[];
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
  /** Free-form facts steps hand to later steps (canary port, nginx decision...). */
  notes: Record<string, unknown>;
}

export interface Step {
  /** 'build-frontend', 'switch', 'pm2', ... */
  id: string;
  /** Read-only: what would change; `{ skip }` when already done or not configured. */
  plan(ctx: DeployContext): Promise<Plan>;
  /** Does the work; safe to repeat. Returns an optional note shown next to the duration. */
  run(ctx: DeployContext): Promise<string | void>;
  /** The post-condition; throws when it does not hold. */
  verify?(ctx: DeployContext): Promise<void>;
  /** Reverts `run` after a later step failed; safe to repeat. */
  undo?(ctx: DeployContext): Promise<void>;
  /** Always called at the end for every step that started (release the lock, stop the canary). */
  cleanup?(ctx: DeployContext): Promise<void>;
}
