/**
 * Commands and background processes with Node's child_process alone (the SSH agent has no execa):
 * `rawExec` runs a command to its end and never throws for a failure; `spawnBackground` starts one
 * that keeps running (the canary), in its own process group.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { BackgroundProcess, SpawnOptions } from './types.js';

export function spawnBackground(argv: string[], opts: SpawnOptions): BackgroundProcess {
  const [file, ...args] = argv;
  if (!file) throw new Error('spawn: empty argv');
  const env = { ...process.env, ...opts.env };
  // The canary is a plain Node program when it needs IPC; fork gives it the channel.
  const child: ChildProcess = opts.ipc
    ? spawnChild(file, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true })
    : spawnChild(file, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  const seen = new Set<unknown>();
  child.on('message', (m) => seen.add(m));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      out += `\n${err.message}\n`;
      resolve({ code: 127, signal: null });
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    pid: child.pid,
    output: () => out,
    exited,
    // A message sent before anyone waited for it counts too (over SSH, the wait arrives later).
    waitForMessage: (message: string) =>
      new Promise<void>((resolve) => {
        if (seen.has(message)) return resolve();
        child.on('message', (m) => {
          if (m === message) resolve();
        });
      }),
    stop: async (graceMs = 5000) => {
      if (done || child.pid === undefined) return;
      // The process group: the app may have started children of its own.
      const kill = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          try {
            child.kill(sig);
          } catch {
            /* already gone */
          }
        }
      };
      kill('SIGINT');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A command as the agent runs it: an argv (no shell) or a command line the user wrote (`sh -c`). */
export interface RawExecRequest {
  argv?: string[];
  shell?: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Send output chunks as they arrive. */
  stream?: boolean;
}

export interface RawExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  all: string;
  timedOut: boolean;
  canceled: boolean;
  /** `ENOENT` when the program (or the working folder) was not found. */
  spawnError?: string;
  cwdMissing?: boolean;
}

const MAX_OUTPUT = 4_000_000;

/** Run a command with Node's child_process only (the agent has no execa). Never throws for a failure. */
export function rawExec(req: RawExecRequest, onOutput?: (chunk: string) => void, signal?: AbortSignal): Promise<RawExecResult> {
  const [file, ...args] = req.shell !== undefined ? ['sh', '-c', req.shell] : (req.argv ?? []);
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [k, v] of Object.entries(req.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve) => {
    const res: RawExecResult = { exitCode: null, signal: null, stdout: '', stderr: '', all: '', timedOut: false, canceled: false };
    let child: ChildProcess;
    try {
      child = spawnChild(file!, args, { cwd: req.cwd, env, stdio: [req.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ ...res, exitCode: 127, spawnError: (err as NodeJS.ErrnoException).code ?? String(err) });
      return;
    }
    const take = (which: 'stdout' | 'stderr') => (b: Buffer) => {
      const text = b.toString();
      if (res[which].length < MAX_OUTPUT) res[which] += text;
      if (res.all.length < MAX_OUTPUT) res.all += text;
      onOutput?.(text);
    };
    child.stdout?.on('data', take('stdout'));
    child.stderr?.on('data', take('stderr'));
    if (req.input !== undefined) child.stdin?.end(req.input);
    const kill = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    };
    const timer = req.timeoutMs
      ? setTimeout(() => {
          res.timedOut = true;
          kill();
        }, req.timeoutMs)
      : undefined;
    const onAbort = () => {
      res.canceled = true;
      kill();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(res);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      res.exitCode = 127;
      res.spawnError = err.code ?? err.message;
      // Synchronously: 'close' follows at once and must not settle the result before this is known.
      if (err.code === 'ENOENT' && req.cwd !== undefined) res.cwdMissing = !existsSync(req.cwd);
      finish();
    });
    child.on('close', (code, sig) => {
      if (settled) return; // a spawn error already settled it
      res.exitCode = code;
      res.signal = sig;
      finish();
    });
  });
}
