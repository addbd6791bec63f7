import { CommandFailed } from '../core/errors.js';
import { NodeOps, tail } from './node-ops.js';
import { rawExec, type RawExecRequest, type RawExecResult } from './processes.js';
import type { ExecOptions, ExecResult, Host } from './types.js';

export { tail } from './node-ops.js';

/**
 * The machine zdd runs on: Node's built-ins for files and processes, and for commands too (the same
 * `rawExec` the SSH host's agent runs (processes.ts); no process library to load on every start).
 */
export class LocalHost extends NodeOps implements Host {
  readonly name = 'local';
  readonly live = true;

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (!argv[0]) throw new Error('exec: empty argv');
    return runCommand(argv.join(' '), { argv }, opts);
  }

  async shell(commandLine: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return runCommand(commandLine, { shell: commandLine }, opts);
  }
}

async function runCommand(shown: string, req: RawExecRequest, opts: ExecOptions): Promise<ExecResult> {
  const raw = await rawExec({ ...req, cwd: opts.cwd, env: opts.env, input: opts.input, timeoutMs: opts.timeoutMs }, opts.onOutput, opts.signal);
  const result: ExecResult = { exitCode: raw.exitCode ?? 1, stdout: raw.stdout, stderr: raw.stderr, all: raw.all };
  if ((raw.exitCode !== 0 || raw.spawnError) && opts.reject !== false) throw commandFailure(shown, raw, opts);
  return result;
}

/** A failed command as the CommandFailed zdd reports (the same words for every host). */
export function commandFailure(
  shown: string,
  r: Pick<RawExecResult, 'exitCode' | 'timedOut' | 'canceled' | 'spawnError' | 'cwdMissing' | 'all'> & { signal?: string | null },
  opts: ExecOptions,
  hostName?: string,
): CommandFailed {
  const err = new CommandFailed(shown, r.spawnError ? undefined : (r.exitCode ?? undefined), tail(r.all));
  const where = hostName ? ` on ${hostName}` : '';
  if (r.timedOut) err.message = `\`${shown}\`${where} timed out after ${opts.timeoutMs} ms`;
  else if (r.canceled) err.message = `\`${shown}\`${where} was cancelled`;
  else if (r.spawnError === 'ENOENT') {
    err.message = r.cwdMissing
      ? `\`${shown}\`${where} could not run: working folder not found: ${opts.cwd}`
      : `\`${shown}\`${where} could not run: command not found`;
  } else if (r.exitCode === null && r.signal) err.message = `\`${shown}\`${where} was killed by ${r.signal}`;
  else if (where) err.message += where;
  return err;
}
