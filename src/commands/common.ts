import ciInfo from 'ci-info';
import { UsageError } from '../core/errors.js';
import { Reporter, type OutputMode } from '../output/reporter.js';

export interface GlobalOptions {
  config?: string;
  ci?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** What a command hands back to the CLI entry: the exit code and, for --json, its document. */
export interface CommandResult {
  exitCode: number;
  /** Merged into the JSON document printed with --json. */
  json?: Record<string, unknown>;
}

export interface CommandIO {
  cwd: string;
  out: Reporter;
  mode: OutputMode;
  /** Prompts are allowed (a TTY, not --ci, not --json). */
  interactive: boolean;
}

export function isCI(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): boolean {
  if (opts.ci) return true;
  const v = env.CI;
  if (v === undefined) return ciInfo.isCI;
  return v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function outputMode(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env, stdoutIsTTY = Boolean(process.stdout.isTTY)): OutputMode {
  if (opts.json) return 'json';
  if (isCI(opts, env) || !stdoutIsTTY) return 'ci';
  return 'tty';
}

export async function makeIO(opts: GlobalOptions, cwd = process.cwd()): Promise<CommandIO> {
  const mode = outputMode(opts);
  // Spinners only on a terminal: CI and JSON runs don't load ora at all.
  const spinner = mode === 'tty' ? (await import('ora')).default : undefined;
  const out = new Reporter({ mode, verbose: opts.verbose, spinner });
  return { cwd, out, mode, interactive: mode === 'tty' && Boolean(process.stdin.isTTY) };
}

/** `--lock-wait <seconds>` of deploy and rollback. */
/** A `--<flag> <seconds>` value: a number ≥ 0, else bad usage (exit 2) naming the flag. */
function seconds(flag: string, v: string): number {
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${flag}: expected seconds ≥ 0, got "${v}"`);
  return n;
}

export function parseLockWait(v: string | undefined): number {
  return seconds('lock-wait', v ?? '0');
}

/** `--bake <seconds>`; undefined when not given (rollout.bake applies). */
export function parseBake(v: string | undefined): number | undefined {
  return v === undefined ? undefined : seconds('bake', v);
}
