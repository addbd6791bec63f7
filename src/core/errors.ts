/**
 * Typed errors. The CLI entry (src/cli.ts) is the only place that turns them into exit codes and
 * printed lines; everything else throws.
 *
 * Exit codes are the contract's: 0 ok · 1 deploy/rollback failed · 2 bad usage or config · 3 locked.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, locked: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class ZddError extends Error {
  readonly exitCode: ExitCode = EXIT.failed;
  /** One more line telling the user what to do about it. */
  hint?: string;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
  }
}

/** Invalid or missing configuration. `problems` holds one `path.to.key: what is wrong` line each. */
export class ConfigError extends ZddError {
  override readonly exitCode = EXIT.usage;
  readonly problems: string[];
  constructor(problems: string[] | string, opts: { hint?: string; cause?: unknown } = {}) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'), opts);
    this.problems = list;
  }
}

/** Bad command-line usage (unknown release id, conflicting flags, ...). */
export class UsageError extends ZddError {
  override readonly exitCode = EXIT.usage;
}

/** Another zdd process holds the deploy lock. */
export class LockedError extends ZddError {
  override readonly exitCode = EXIT.locked;
}

/** A step of a deploy or rollback failed. `tail` is the last lines of the step's output. */
export class StepFailed extends ZddError {
  override readonly exitCode = EXIT.failed;
  constructor(
    readonly step: string,
    message: string,
    opts: { hint?: string; cause?: unknown; tail?: string } = {},
  ) {
    super(message, opts);
    this.tail = opts.tail;
  }
  readonly tail?: string;
}

/** A command that exited non-zero, with the tail of its output. */
export class CommandFailed extends ZddError {
  constructor(
    readonly command: string,
    readonly exitCodeOfCommand: number | undefined,
    readonly tail: string,
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(`\`${command}\` ${exitCodeOfCommand === undefined ? 'could not run' : `exited with ${exitCodeOfCommand}`}`, opts);
  }
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof ZddError ? err.exitCode : EXIT.failed;
}
