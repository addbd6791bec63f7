/**
 * Everything a host does with Node's built-ins alone: files, links, processes, HTTP, ports. The local
 * host is this plus execa for commands; the SSH host runs this same file on the target as its agent
 * (see `serveAgent` at the end), so the two never drift apart. Imports nothing but `node:` modules:
 * it is shipped to the target as one file.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { BackgroundProcess, EntryInfo, FileEntry, HttpResult, LinkResult, SpawnOptions } from './types.js';

const TAIL_LINES = 30;

export function tail(text: string, lines = TAIL_LINES): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

function toEntry(st: import('node:fs').Stats): EntryInfo {
  const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  return { type, size: st.size, mtimeMs: st.mtimeMs };
}

export async function statOrUndefined(p: string, follow: boolean): Promise<EntryInfo | undefined> {
  try {
    return toEntry(follow ? await fs.stat(p) : await fs.lstat(p));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** A temp name in the same folder as `p` (so a rename onto `p` is atomic). */
function tempBeside(p: string): string {
  return path.join(path.dirname(p), `.${path.basename(p)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** rename(2) `tmp` onto `p`; if that fails, `tmp` is removed and the error thrown. */
async function renameIntoPlace(tmp: string, p: string): Promise<void> {
  try {
    await fs.rename(tmp, p);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** The Node built-in half of a host (see the file comment). */
export class NodeOps {
  spawn(argv: string[], opts: SpawnOptions): BackgroundProcess {
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

  async readFile(p: string): Promise<string | undefined> {
    try {
      return await fs.readFile(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeFile(p: string, content: string, opts: { mode?: number } = {}): Promise<void> {
    const tmp = tempBeside(p);
    const fh = await fs.open(tmp, 'w', opts.mode ?? 0o644);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await renameIntoPlace(tmp, p);
  }

  async createExclusive(p: string, content: string): Promise<boolean> {
    // Write the whole content under a temp name, then link(2) it into place: the link fails with
    // EEXIST if the file exists, and a reader never sees a half-written file.
    const tmp = tempBeside(p);
    await fs.writeFile(tmp, content, { mode: 0o644 });
    try {
      await fs.link(tmp, p);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
  }

  async mkdir(p: string): Promise<void> {
    await fs.mkdir(p, { recursive: true });
  }

  async tempDir(prefix: string): Promise<string> {
    return fs.mkdtemp(path.join(os.tmpdir(), prefix));
  }

  async remove(p: string): Promise<void> {
    await fs.rm(p, { recursive: true, force: true });
  }

  async rename(from: string, to: string): Promise<void> {
    await fs.rename(from, to);
  }

  stat(p: string) {
    return statOrUndefined(p, true);
  }

  lstat(p: string) {
    return statOrUndefined(p, false);
  }

  async readdir(p: string): Promise<string[]> {
    try {
      return (await fs.readdir(p)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async readlink(p: string): Promise<string | undefined> {
    try {
      return await fs.readlink(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return undefined;
      throw err;
    }
  }

  async symlinkAtomic(target: string, linkPath: string): Promise<void> {
    const tmp = tempBeside(linkPath);
    await fs.symlink(target, tmp);
    await renameIntoPlace(tmp, linkPath);
  }

  async symlink(target: string, linkPath: string): Promise<void> {
    await fs.symlink(target, linkPath);
  }

  async upload(localDir: string, hostDir: string, opts: { exclude?: string[] } = {}): Promise<void> {
    const exclude = new Set(opts.exclude ?? []);
    try {
      await fs.cp(localDir, hostDir, {
        recursive: true,
        // Keep symlinks as symlinks, and don't follow them out of the tree.
        verbatimSymlinks: true,
        preserveTimestamps: true,
        filter: (src) => !exclude.has(path.basename(src)) || path.resolve(src) === path.resolve(localDir),
      });
    } catch (err) {
      // fs.cp's errors often name neither side (ENOSPC on a write): say where it was going.
      const e = err as NodeJS.ErrnoException;
      throw Object.assign(new Error(`copying ${localDir} to ${hostDir}: ${e.message}`, { cause: err }), { code: e.code, path: hostDir });
    }
  }

  async diskUsage(p: string): Promise<number> {
    const seen = new Set<string>();
    let total = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile()) {
          const st = await fs.lstat(full);
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
          total += st.size;
        }
      }
    };
    await walk(p);
    return total;
  }

  async listFiles(dir: string): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const walk = async (abs: string, rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(abs, { withFileTypes: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const childRel = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(abs, e.name), childRel);
        else if (e.isFile()) {
          const st = await fs.lstat(path.join(abs, e.name));
          out.push({ path: childRel, size: st.size, mtimeMs: st.mtimeMs });
        }
      }
    };
    await walk(dir, '');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async link(existing: string, newPath: string): Promise<LinkResult> {
    await fs.mkdir(path.dirname(newPath), { recursive: true });
    try {
      await fs.link(existing, newPath);
      return 'linked';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return 'exists';
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
    }
    // No hard links here: copy, never over an existing file, and keep the mtime (ETag/Last-Modified).
    try {
      await fs.copyFile(existing, newPath, fsConstants.COPYFILE_EXCL);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
      throw err;
    }
    const st = await fs.stat(existing);
    await fs.utimes(newPath, st.atimeMs / 1000, st.mtimeMs / 1000);
    return 'copied';
  }

  async linkTree(from: string, to: string, opts: { exclude?: string[] } = {}): Promise<{ files: number; copied: number }> {
    const exclude = new Set((opts.exclude ?? []).map((e) => path.posix.normalize(e.replace(/\\/g, '/')).replace(/\/+$/, '')));
    const res = { files: 0, copied: 0 };
    const walk = async (src: string, dest: string, rel: string): Promise<void> => {
      await fs.mkdir(dest, { recursive: true });
      const entries = await fs.readdir(src, { withFileTypes: true });
      await Promise.all(
        entries.map(async (e) => {
          const childRel = rel ? `${rel}/${e.name}` : e.name;
          if (exclude.has(childRel)) return;
          const s = path.join(src, e.name);
          const d = path.join(dest, e.name);
          if (e.isDirectory()) return walk(s, d, childRel);
          if (e.isSymbolicLink()) {
            try {
              await fs.symlink(await fs.readlink(s), d);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
            }
            return;
          }
          if (!e.isFile()) return;
          const r = await this.link(s, d);
          if (r !== 'exists') res.files++;
          if (r === 'copied') res.copied++;
        }),
      );
    };
    try {
      await walk(from, to, '');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw Object.assign(new Error(`hard-linking ${from} to ${to}: ${e.message}`, { cause: err }), { code: e.code, path: to });
    }
    return res;
  }

  async readBytes(p: string): Promise<Uint8Array | undefined> {
    try {
      return await fs.readFile(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeBytes(p: string, data: Uint8Array, opts: { mtimeMs?: number; mode?: number } = {}): Promise<void> {
    const tmp = tempBeside(p);
    try {
      await fs.writeFile(tmp, data, { mode: opts.mode ?? 0o644 });
      if (opts.mtimeMs !== undefined) {
        // Seconds as a number keep sub-millisecond precision (a Date would round to the ms).
        const t = opts.mtimeMs / 1000;
        await fs.utimes(tmp, t, t);
      }
      await fs.rename(tmp, p);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      // A failed write (ENOSPC) does not name the file: say which one.
      const e = err as NodeJS.ErrnoException;
      throw Object.assign(new Error(`writing ${p}: ${e.message}`, { cause: err }), { code: e.code, path: p });
    }
  }

  httpGet(url: string, timeoutMs: number): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false, timeout: timeoutMs, headers: { 'user-agent': 'zdd-healthcheck' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 4096) body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  }

  async processAlive(pid: number): Promise<boolean> {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  async identity() {
    let user = process.env.USER ?? '';
    try {
      user = os.userInfo().username;
    } catch {
      /* no passwd entry */
    }
    return { hostname: os.hostname(), user: user || String(process.getuid?.() ?? 'unknown') };
  }
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

/** The agent's operations that map one to one onto NodeOps methods. */
const PLAIN_OPS = new Set([
  'readFile',
  'writeFile',
  'createExclusive',
  'mkdir',
  'tempDir',
  'remove',
  'rename',
  'stat',
  'lstat',
  'readdir',
  'readlink',
  'symlinkAtomic',
  'symlink',
  'diskUsage',
  'listFiles',
  'link',
  'linkTree',
  'httpGet',
  'freePort',
  'processAlive',
  'identity',
]);

type Message = { id: number; op: string; args: unknown[] };

/**
 * The SSH host's agent: run on the target as `node agent.mjs --zdd-agent`, it reads one JSON request
 * per line on stdin and answers one JSON line each on stdout (`{id, ok, value}` or `{id, ok: false,
 * error}`), with `{id, ev: 'out', data}` lines for streamed command output. Values never pass through
 * a shell. When stdin closes (zdd exited or was killed), it stops what it started and exits.
 */
export function serveAgent(): void {
  const ops = new NodeOps() as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const running = new Map<number, AbortController>();
  const bgs = new Map<number, BackgroundProcess>();
  const send = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
  const handle = async (m: Message): Promise<unknown> => {
    const a = m.args ?? [];
    switch (m.op) {
      case 'hello': {
        for (const [k, v] of Object.entries((a[0] ?? {}) as Record<string, string>)) process.env[k] = v;
        return { pid: process.pid, node: process.version };
      }
      case 'exec': {
        const c = new AbortController();
        running.set(m.id, c);
        const req = a[0] as RawExecRequest;
        try {
          return await rawExec(req, req.stream ? (data) => send({ id: m.id, ev: 'out', data }) : undefined, c.signal);
        } finally {
          running.delete(m.id);
        }
      }
      case 'cancel':
        running.get(a[0] as number)?.abort();
        return null;
      case 'spawn': {
        const bg = (ops as unknown as NodeOps).spawn(a[0] as string[], a[1] as SpawnOptions);
        bgs.set(m.id, bg);
        void bg.exited.then(() => setTimeout(() => bgs.delete(m.id), 60_000).unref());
        return { pid: bg.pid ?? null };
      }
      case 'bgOutput':
        return bgs.get(a[0] as number)?.output() ?? '';
      case 'bgExited':
        return (await bgs.get(a[0] as number)?.exited) ?? { code: null, signal: null };
      case 'bgWaitMessage':
        await bgs.get(a[0] as number)?.waitForMessage(a[1] as string);
        return null;
      case 'bgStop':
        await bgs.get(a[0] as number)?.stop(a[1] as number | undefined);
        return null;
      case 'readBytes': {
        const b = await (ops as unknown as NodeOps).readBytes(a[0] as string);
        return b === undefined ? null : Buffer.from(b).toString('base64');
      }
      case 'writeBytes':
        return (ops as unknown as NodeOps).writeBytes(a[0] as string, Buffer.from(a[1] as string, 'base64'), a[2] as { mtimeMs?: number; mode?: number });
      default:
        if (!PLAIN_OPS.has(m.op)) throw new Error(`unknown operation ${m.op}`);
        return ops[m.op]!(...a);
    }
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let m: Message;
    try {
      m = JSON.parse(line) as Message;
    } catch {
      return;
    }
    handle(m).then(
      (value) => send({ id: m.id, ok: true, value: value === undefined ? null : value }),
      (err: NodeJS.ErrnoException) => send({ id: m.id, ok: false, error: { message: err?.message ?? String(err), code: err?.code, path: err?.path } }),
    );
  });
  rl.on('close', () => {
    // zdd is gone: stop what it started here (the canary, a running command), then exit.
    for (const c of running.values()) c.abort();
    void Promise.all([...bgs.values()].map((b) => b.stop(2000))).then(() => process.exit(0));
  });
}

if (process.argv.includes('--zdd-agent') && process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) serveAgent();
