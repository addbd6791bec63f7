import { execa } from 'execa';
import { CommandFailed } from '../errors.js';
import { NodeOps, statOrUndefined, tail } from './node-ops.js';
import type { RawExecResult } from './node-ops.js';
import type { ExecOptions, ExecResult, Host } from './types.js';

export { tail } from './node-ops.js';

/** The machine zdd runs on: Node's built-ins for files and processes, execa for commands. */
export class LocalHost extends NodeOps implements Host {
  readonly name = 'local';
  readonly live = true;

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('exec: empty argv');
    return this.run(argv.join(' '), execa(file, args, this.execaOptions(opts)), opts);
  }

  async shell(commandLine: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.run(commandLine, execa('sh', ['-c', commandLine], this.execaOptions(opts)), opts);
  }

  private execaOptions(opts: ExecOptions) {
    return {
      cwd: opts.cwd,
      env: opts.env,
      extendEnv: true,
      input: opts.input,
      stdin: opts.input === undefined ? ('ignore' as const) : undefined,
      timeout: opts.timeoutMs,
      all: true,
      reject: false,
      stripFinalNewline: false,
      cancelSignal: opts.signal,
    };
  }

  private async run(shown: string, child: ReturnType<typeof execa>, opts: ExecOptions): Promise<ExecResult> {
    if (opts.onOutput) {
      child.all?.on('data', (chunk: Buffer) => opts.onOutput?.(chunk.toString()));
    }
    const r = await child;
    const result: ExecResult = {
      exitCode: r.exitCode ?? (r.failed ? 1 : 0),
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      all: String(r.all ?? ''),
    };
    const failed = r.failed || result.exitCode !== 0;
    if (failed && opts.reject !== false) {
      const spawnError = r.exitCode === undefined ? ((r as { code?: string }).code ?? 'failed') : undefined;
      // spawn says ENOENT both for a missing program and for a missing working folder.
      const cwdMissing = spawnError === 'ENOENT' && opts.cwd !== undefined && !(await statOrUndefined(opts.cwd, true));
      throw commandFailure(shown, {
        exitCode: r.exitCode ?? null, timedOut: Boolean(r.timedOut), canceled: Boolean(r.isCanceled), spawnError, cwdMissing,
        all: result.all || (r as { shortMessage?: string }).shortMessage || '',
      }, opts);
    }
    return result;
  }
}

/** A failed command as the CommandFailed zdd reports (the same words for every host). */
export function commandFailure(
  shown: string,
  r: Pick<RawExecResult, 'exitCode' | 'timedOut' | 'canceled' | 'spawnError' | 'cwdMissing' | 'all'>,
  opts: ExecOptions,
  hostName?: string,
): CommandFailed {
  const err = new CommandFailed(shown, r.spawnError ? undefined : (r.exitCode ?? undefined), tail(r.all));
  const where = hostName ? ` on ${hostName}` : '';
  if (r.timedOut) err.message = `\`${shown}\`${where} timed out after ${opts.timeoutMs} ms`;
  else if (r.canceled) err.message = `\`${shown}\`${where} was cancelled`;
  else if (r.spawnError === 'ENOENT') {
    err.message = r.cwdMissing ? `\`${shown}\`${where} could not run: working folder not found: ${opts.cwd}` : `\`${shown}\`${where} could not run: command not found`;
  } else if (where) err.message += where;
  return err;
}
