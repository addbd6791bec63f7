/**
 * Everything a host does with Node's built-ins alone: files, links, processes, HTTP, ports. The local
 * host is this plus its commands (processes.ts); the SSH host runs this same code on the target as
 * its agent (agent.ts, bundled into one file with nothing but `node:` imports), so the two never
 * drift apart.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawnBackground } from './processes.js';
import type { BackgroundProcess, EntryInfo, FileEntry, HttpOptions, HttpResult, LinkResult, ListFilesOptions, SpawnOptions } from './types.js';

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
    return spawnBackground(argv, opts);
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

  async listFiles(dir: string, opts: ListFilesOptions = {}): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const exclude = new Set(opts.exclude ?? []);
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
        if (e.isDirectory()) {
          if (!exclude.has(e.name)) await walk(path.join(abs, e.name), childRel);
        } else if (e.isFile()) {
          const st = await fs.lstat(path.join(abs, e.name));
          out.push({ path: childRel, size: st.size, mtimeMs: st.mtimeMs, inode: `${st.dev}:${st.ino}` });
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

  httpGet(url: string, timeoutMs: number, opts: HttpOptions = {}): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const headers = { 'user-agent': 'zdd-healthcheck', ...opts.headers };
      const req = http.get(url, { agent: false, timeout: timeoutMs, headers }, (res) => {
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
