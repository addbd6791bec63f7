/**
 * A host reached over OpenSSH. One master connection per host (ControlMaster in a private socket
 * folder) carries everything: a long-lived agent (this package's dist/host/agent.mjs, shipped once per version
 * into ~/.cache/zdd on the target and run with `node`) that does the Host operations, and `rsync` for
 * uploads. Requests travel as JSON over the agent's stdin, so no value from the config (a deployTo with
 * spaces, quotes or `$(…)`, the app's environment) ever reaches a remote shell or a command line.
 */
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CommandFailed, ZddError } from '../core/errors.js';
import type { RawExecRequest, RawExecResult } from './processes.js';
import { packagePath } from '../core/package-root.js';
import { commandFailure } from './local.js';
import type {
  BackgroundProcess,
  EntryInfo,
  ExecOptions,
  ExecResult,
  FileEntry,
  Host,
  HttpOptions,
  HttpResult,
  LinkResult,
  ListFilesOptions,
  SpawnOptions,
  UploadResult,
} from './types.js';

export interface SshTarget {
  host: string;
  user?: string;
  port?: number;
  /** Environment for every command on the host and for the app (PM2_HOME, PATH...). */
  env?: Record<string, string>;
}

export interface SshSettings {
  identityFile?: string;
  options: string[];
  /** Private folder (mode 0700) for the ControlMaster sockets. */
  controlDir: string;
}

/** `user@host[:port]` as in the config (the loader has checked it). */
export function targetName(t: SshTarget): string {
  return `${t.user ? `${t.user}@` : ''}${t.host}${t.port && t.port !== 22 ? `:${t.port}` : ''}`;
}

/** The agent's source and where it lives on a target: one folder per content hash. */
function agentFile(): { source: string; dir: string } {
  // The build's one-file bundle of agent.ts (the CLI bundle and the TypeScript sources in tests use the same file).
  const source = readFileSync(packagePath('dist', 'host', 'agent.mjs'), 'utf8');
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return { source, dir: `.cache/zdd/agent-${hash}` };
}

type Pending = { resolve: (v: any) => void; reject: (e: Error) => void; onOutput?: (chunk: string) => void };

export class SshHost implements Host {
  readonly name: string;
  readonly live = true;
  private agent?: ChildProcess;
  private agentPid?: number;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private buffer = '';
  private stderr = '';
  /** Bytes rsync sent to this host, and the total size of what it synced. */
  readonly transfer = { sent: 0, total: 0 };

  constructor(
    readonly target: SshTarget,
    private readonly settings: SshSettings,
  ) {
    this.name = targetName(target);
  }

  /** ssh's own options: batch mode (never a prompt), the shared master, the user's key and -o options. */
  sshOptions(): string[] {
    const o = ['-o', 'BatchMode=yes', '-o', 'ControlMaster=auto', '-o', `ControlPath=${this.settings.controlDir}/%C`, '-o', 'ControlPersist=120'];
    if (this.target.port) o.push('-p', String(this.target.port));
    if (this.settings.identityFile) o.push('-i', this.settings.identityFile, '-o', 'IdentitiesOnly=yes');
    for (const opt of this.settings.options) o.push('-o', opt);
    return o;
  }

  private destination(): string {
    return `${this.target.user ? `${this.target.user}@` : ''}${this.target.host}`;
  }

  /**
   * Open the master connection and start the agent, in one SSH session: the agent's source goes
   * first on stdin (`head -c` takes exactly its bytes into ~/.cache/zdd/agent-<hash>/), then the
   * same stdin carries the requests.
   */
  async connect(): Promise<void> {
    const { source, dir } = agentFile();
    const bytes = Buffer.byteLength(source);
    // Only fixed strings of [a-z0-9./-] and a number: safe in the remote shell.
    const start = `mkdir -p ${dir} && head -c ${bytes} > ${dir}/.agent.$$ && mv -f ${dir}/.agent.$$ ${dir}/agent.mjs && exec node ${dir}/agent.mjs --zdd-agent`;
    const child = spawn('ssh', [...this.sshOptions(), this.destination(), start], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.agent = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.onData(d));
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', (code) => {
      const err = new ZddError(
        `${this.name}: the connection closed (exit ${code})${this.stderr.trim() ? `: ${this.stderr.trim().split('\n').slice(-2).join(' / ')}` : ''}`,
      );
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.agent = undefined;
    });
    child.stdin!.on('error', () => {});
    child.stdin!.write(source);
    let hello: { pid: number; node: string };
    try {
      hello = (await this.call('hello', [this.target.env ?? {}])) as { pid: number; node: string };
    } catch (err) {
      const why = this.stderr.trim().split('\n').slice(-3).join(' / ');
      throw new ZddError(`${this.name}: ssh failed: ${why || (err as Error).message}`, {
        hint: /node: (command )?not found/.test(why)
          ? 'the host needs Node on the PATH of a non-interactive SSH session'
          : 'check that `ssh` reaches the host with these settings (key, known_hosts, port); zdd never disables host key checking',
      });
    }
    this.agentPid = hello.pid;
  }

  /** Stop the agent and the master connection. */
  async close(): Promise<void> {
    const child = this.agent;
    if (child) {
      const gone = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      child.kill();
    }
    await execa('ssh', [...this.sshOptions(), '-O', 'exit', this.destination()], { reject: false, timeout: 10_000 });
  }

  private onData(d: string): void {
    this.buffer += d;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.trim()) continue;
      let m: any;
      try {
        m = JSON.parse(line);
      } catch {
        continue;
      }
      const p = this.pending.get(m.id);
      if (!p) continue;
      if (m.ev === 'out') {
        p.onOutput?.(m.data);
        continue;
      }
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(`${this.name}: ${m.error?.message}`), { code: m.error?.code, path: m.error?.path }));
    }
  }

  private call(op: string, args: unknown[], opts: { onOutput?: (c: string) => void; id?: number } = {}): Promise<any> {
    if (!this.agent?.stdin?.writable) return Promise.reject(new ZddError(`${this.name}: not connected`));
    const id = opts.id ?? this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onOutput: opts.onOutput });
      this.agent!.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  private async runRemote(shown: string, req: RawExecRequest, opts: ExecOptions): Promise<ExecResult> {
    const id = this.nextId++;
    const onAbort = () => void this.call('cancel', [id]).catch(() => {});
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let raw: RawExecResult;
    try {
      raw = await this.call('exec', [{ ...req, cwd: opts.cwd, env: opts.env, input: opts.input, timeoutMs: opts.timeoutMs, stream: Boolean(opts.onOutput) }], {
        id,
        onOutput: opts.onOutput,
      });
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    const result: ExecResult = { exitCode: raw.exitCode ?? 1, stdout: raw.stdout, stderr: raw.stderr, all: raw.all };
    if ((raw.exitCode !== 0 || raw.spawnError) && opts.reject !== false) throw commandFailure(`${shown}`, raw, opts, this.name);
    return result;
  }

  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (!argv[0]) throw new Error('exec: empty argv');
    return this.runRemote(argv.join(' '), { argv }, opts);
  }

  shell(commandLine: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.runRemote(commandLine, { shell: commandLine }, opts);
  }

  spawn(argv: string[], opts: SpawnOptions): BackgroundProcess {
    const started = this.call('spawn', [argv, opts]) as Promise<{ pid: number | null }>;
    const id = this.nextId - 1;
    let pid: number | undefined;
    let lastOutput = '';
    const exited = started
      .then(() => this.call('bgExited', [id]) as Promise<{ code: number | null; signal: string | null }>)
      .catch((err: Error) => {
        lastOutput += `\n${err.message}\n`;
        return { code: 127, signal: null };
      });
    void started.then((s) => (pid = s.pid ?? undefined)).catch(() => {});
    // Keep a recent copy of the output for failures that happen while it still runs.
    let finished = false;
    const poll = setInterval(() => {
      if (finished) return clearInterval(poll);
      void this.call('bgOutput', [id])
        .then((o: string) => (lastOutput = o || lastOutput))
        .catch(() => {});
    }, 500);
    poll.unref();
    void exited.then(() => (finished = true));
    return {
      get pid() {
        return pid;
      },
      started: started.catch(() => undefined),
      output: () => lastOutput,
      exited: exited.then(async (e) => {
        lastOutput = (await this.call('bgOutput', [id]).catch(() => lastOutput)) as string;
        return e;
      }),
      waitForMessage: (message: string) => started.then(() => this.call('bgWaitMessage', [id, message])),
      stop: async (graceMs = 5000) => {
        await started.catch(() => {});
        lastOutput = (await this.call('bgOutput', [id]).catch(() => lastOutput)) as string;
        await this.call('bgStop', [id, graceMs]).catch(() => {});
        lastOutput = (await this.call('bgOutput', [id]).catch(() => lastOutput)) as string;
      },
    } satisfies BackgroundProcess;
  }

  readFile(p: string): Promise<string | undefined> {
    return this.call('readFile', [p]).then((v) => v ?? undefined);
  }
  writeFile(p: string, content: string, opts?: { mode?: number }): Promise<void> {
    return this.call('writeFile', [p, content, opts ?? {}]);
  }
  createExclusive(p: string, content: string): Promise<boolean> {
    return this.call('createExclusive', [p, content]);
  }
  mkdir(p: string): Promise<void> {
    return this.call('mkdir', [p]);
  }
  tempDir(prefix: string): Promise<string> {
    return this.call('tempDir', [prefix]);
  }
  remove(p: string): Promise<void> {
    return this.call('remove', [p]);
  }
  rename(from: string, to: string): Promise<void> {
    return this.call('rename', [from, to]);
  }
  stat(p: string): Promise<EntryInfo | undefined> {
    return this.call('stat', [p]).then((v) => v ?? undefined);
  }
  lstat(p: string): Promise<EntryInfo | undefined> {
    return this.call('lstat', [p]).then((v) => v ?? undefined);
  }
  readdir(p: string): Promise<string[]> {
    return this.call('readdir', [p]);
  }
  readlink(p: string): Promise<string | undefined> {
    return this.call('readlink', [p]).then((v) => v ?? undefined);
  }
  symlinkAtomic(target: string, linkPath: string): Promise<void> {
    return this.call('symlinkAtomic', [target, linkPath]);
  }
  symlink(target: string, linkPath: string): Promise<void> {
    return this.call('symlink', [target, linkPath]);
  }
  diskUsage(p: string): Promise<number> {
    return this.call('diskUsage', [p]);
  }
  listFiles(dir: string, opts?: ListFilesOptions): Promise<FileEntry[]> {
    return this.call('listFiles', [dir, opts ?? {}]);
  }
  link(existing: string, newPath: string): Promise<LinkResult> {
    return this.call('link', [existing, newPath]);
  }
  linkTree(from: string, to: string, opts?: { exclude?: string[] }): Promise<{ files: number; copied: number }> {
    return this.call('linkTree', [from, to, opts ?? {}]);
  }
  async readBytes(p: string): Promise<Uint8Array | undefined> {
    const b64 = (await this.call('readBytes', [p])) as string | null;
    return b64 === null ? undefined : Buffer.from(b64, 'base64');
  }
  writeBytes(p: string, data: Uint8Array, opts?: { mtimeMs?: number; mode?: number }): Promise<void> {
    return this.call('writeBytes', [p, Buffer.from(data).toString('base64'), opts ?? {}]);
  }
  httpGet(url: string, timeoutMs: number, opts?: HttpOptions): Promise<HttpResult> {
    return this.call('httpGet', [url, timeoutMs, opts ?? {}]);
  }
  freePort(): Promise<number> {
    return this.call('freePort', []);
  }
  processAlive(pid: number): Promise<boolean> {
    return this.call('processAlive', [pid]);
  }
  async identity(): Promise<{ hostname: string; user: string; pid?: number }> {
    // The agent lives exactly as long as this zdd's connection: it is the lock holder's pid there.
    return { ...(await this.call('identity', [])), pid: this.agentPid };
  }

  /**
   * rsync `localDir/` into `hostDir/` over the master connection. `linkDest` folders on the host
   * (say, the current release's backend) hard-link every file that did not change, so only changed
   * files travel. `-s` keeps paths away from the remote shell.
   */
  async upload(localDir: string, hostDir: string, opts: { exclude?: string[]; linkDest?: string[] } = {}): Promise<UploadResult> {
    const e = ['ssh', ...this.sshOptions()].map(rsyncQuote).join(' ');
    const args = ['-a', '-s', '--stats', '-e', e];
    for (const x of opts.exclude ?? []) args.push(`--exclude=${x}`);
    for (const d of opts.linkDest ?? []) args.push(`--link-dest=${d}`);
    args.push(`${localDir.replace(/\/+$/, '')}/`, `${this.destination()}:${hostDir.replace(/\/+$/, '')}/`);
    const r = await execa('rsync', args, { reject: false, all: true });
    if (r.exitCode !== 0) {
      throw Object.assign(
        new CommandFailed(
          `rsync ${localDir} -> ${this.name}:${hostDir}`,
          r.exitCode,
          String(r.all ?? '')
            .trim()
            .split('\n')
            .slice(-10)
            .join('\n'),
        ),
        {
          path: hostDir,
        },
      );
    }
    const num = (label: string) => Number((new RegExp(`${label}: ([\\d,.]+)`).exec(String(r.stdout))?.[1] ?? '0').replace(/[,.]/g, ''));
    const res = { sentBytes: num('Total bytes sent'), totalBytes: num('Total file size') };
    this.transfer.sent += res.sentBytes;
    this.transfer.total += res.totalBytes;
    return res;
  }
}

/** rsync splits its -e value on spaces, honouring single quotes. */
function rsyncQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
