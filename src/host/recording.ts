import path from 'node:path';
import { CommandFailed } from '../core/errors.js';
import type { BackgroundProcess, EntryInfo, ExecOptions, ExecResult, FileEntry, Host, HttpOptions, HttpResult, LinkResult, ListFilesOptions } from './types.js';

export interface RecordedCall {
  method: string;
  args: unknown[];
}

type Responder = (argvOrLine: string[] | string, opts: ExecOptions) => Partial<ExecResult> | undefined;

/**
 * A host for unit tests: an in-memory file system plus a log of every call. Commands answer through
 * `respond` (default: exit 0, no output); HTTP through `http`.
 */
export class RecordingHost implements Host {
  readonly name: string;
  readonly live = true;
  readonly calls: RecordedCall[] = [];
  /** path -> file content; folders are kept in `dirs`, symlinks in `links`. */
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>(['/']);
  readonly links = new Map<string, string>();
  /** Files written with writeBytes (kept as latin1), and mtimes given to writeBytes. */
  private readonly binary = new Set<string>();
  private readonly mtimes = new Map<string, number>();
  /**
   * Inodes, as far as hard links need them: a file written through the host gets a new one, a link
   * shares its source's; a file put straight into `files` (seeded by a test) has one of its own.
   */
  private readonly inodes = new Map<string, string>();
  private inodeCount = 0;
  private inodeOf(p: string): string {
    return this.inodes.get(p) ?? `seed:${p}`;
  }
  private newInode(p: string) {
    this.inodes.set(p, `mem:${++this.inodeCount}`);
  }
  respond: Responder = () => undefined;
  http: (url: string, opts?: HttpOptions) => HttpResult = () => ({ status: 200, body: 'ok' });
  alive = new Set<number>();

  constructor(name = 'recording') {
    this.name = name;
  }

  private log(method: string, ...args: unknown[]) {
    this.calls.push({ method, args });
  }

  /** The commands run so far, as strings, in order. */
  commands(): string[] {
    return this.calls
      .filter((c) => c.method === 'exec' || c.method === 'shell')
      .map((c) => (Array.isArray(c.args[0]) ? (c.args[0] as string[]).join(' ') : String(c.args[0])));
  }

  private result(argvOrLine: string[] | string, opts: ExecOptions): ExecResult {
    const r = this.respond(argvOrLine, opts) ?? {};
    const res = { exitCode: 0, stdout: '', stderr: '', all: '', ...r };
    if (res.exitCode !== 0 && opts.reject !== false) {
      const shown = Array.isArray(argvOrLine) ? argvOrLine.join(' ') : argvOrLine;
      throw new CommandFailed(shown, res.exitCode, res.all || res.stderr || res.stdout);
    }
    return res;
  }

  async exec(argv: string[], opts: ExecOptions = {}) {
    this.log('exec', argv, opts);
    return this.result(argv, opts);
  }
  async shell(line: string, opts: ExecOptions = {}) {
    this.log('shell', line, opts);
    return this.result(line, opts);
  }
  spawn(argv: string[], opts: { cwd: string }): BackgroundProcess {
    this.log('spawn', argv, opts);
    return {
      pid: 4242,
      output: () => '',
      exited: new Promise(() => {}),
      waitForMessage: async () => {},
      stop: async () => {},
    };
  }
  private ensureParent(p: string) {
    let d = path.dirname(p);
    while (!this.dirs.has(d)) {
      this.dirs.add(d);
      d = path.dirname(d);
    }
  }
  async readFile(p: string) {
    this.log('readFile', p);
    return this.files.get(this.resolved(p));
  }
  /** As a real file system: writing into a folder that does not exist fails (a step must mkdir first). */
  private needParent(p: string, op: string) {
    const d = this.resolved(path.dirname(p));
    if (!this.dirs.has(d)) throw Object.assign(new Error(`ENOENT: no such file or directory, ${op} '${p}'`), { code: 'ENOENT', path: p });
  }
  /** `p` with every symlink along it followed (as the kernel resolves a path). */
  private resolved(p: string): string {
    const parts = path.resolve(p).split('/').filter(Boolean);
    let cur = '/';
    for (let hops = 0, i = 0; i < parts.length; i++) {
      const next = path.join(cur, parts[i]!);
      const l = this.links.get(next);
      if (l !== undefined && hops++ < 40) {
        const rest = parts.slice(i + 1);
        parts.splice(0, parts.length, ...path.resolve(cur, l).split('/').filter(Boolean), ...rest);
        cur = '/';
        i = -1;
        continue;
      }
      cur = next;
    }
    return cur;
  }
  async writeFile(p: string, content: string, opts?: { mode?: number }) {
    this.log('writeFile', p, content, opts);
    this.needParent(p, 'open');
    this.files.set(this.resolved(p), content);
    this.newInode(this.resolved(p));
    this.binary.delete(this.resolved(p));
  }
  async createExclusive(p: string, content: string) {
    this.log('createExclusive', p, content);
    if (this.files.has(this.resolved(p)) || this.links.has(p)) return false;
    this.needParent(p, 'open');
    this.files.set(this.resolved(p), content);
    this.newInode(this.resolved(p));
    return true;
  }
  async mkdir(p: string) {
    this.log('mkdir', p);
    this.ensureParent(path.join(p, 'x'));
  }
  private temps = 0;
  async tempDir(prefix: string) {
    const dir = `/tmp/${prefix}${String(++this.temps).padStart(6, '0')}`;
    this.log('tempDir', prefix);
    this.ensureParent(path.join(dir, 'x'));
    return dir;
  }
  async remove(p: string) {
    this.log('remove', p);
    for (const m of [this.files, this.links, this.inodes]) for (const k of [...m.keys()]) if (k === p || k.startsWith(`${p}/`)) m.delete(k);
    for (const d of [...this.dirs]) if (d === p || d.startsWith(`${p}/`)) this.dirs.delete(d);
  }
  async rename(from: string, to: string) {
    this.log('rename', from, to);
    if (this.links.has(from)) {
      this.links.set(to, this.links.get(from)!);
      this.links.delete(from);
    } else if (this.files.has(from)) {
      this.files.set(to, this.files.get(from)!);
      this.inodes.set(to, this.inodeOf(from));
      this.files.delete(from);
    }
  }
  private info(p: string): EntryInfo | undefined {
    if (this.links.has(p)) return { type: 'symlink', size: 0, mtimeMs: 0 };
    if (this.files.has(p))
      return { type: 'file', size: Buffer.byteLength(this.files.get(p)!, this.binary.has(p) ? 'latin1' : 'utf8'), mtimeMs: this.mtimes.get(p) ?? 0 };
    if (this.dirs.has(p)) return { type: 'dir', size: 0, mtimeMs: 0 };
    return undefined;
  }
  async stat(p: string) {
    return this.info(this.resolved(p));
  }
  async lstat(p: string) {
    return this.info(path.join(this.resolved(path.dirname(p)), path.basename(p)));
  }
  async readdir(p: string) {
    const names = new Set<string>();
    for (const k of [...this.files.keys(), ...this.dirs, ...this.links.keys()]) {
      if (path.dirname(k) === p && k !== p) names.add(path.basename(k));
    }
    return [...names].sort();
  }
  async readlink(p: string) {
    return this.links.get(p);
  }
  async symlinkAtomic(target: string, linkPath: string) {
    this.log('symlinkAtomic', target, linkPath);
    this.links.set(linkPath, target);
  }
  async symlink(target: string, linkPath: string) {
    this.log('symlink', target, linkPath);
    this.links.set(linkPath, target);
  }
  async upload(localDir: string, hostDir: string, opts?: { exclude?: string[] }) {
    this.log('upload', localDir, hostDir, opts);
    this.ensureParent(path.join(hostDir, 'x'));
  }
  async diskUsage() {
    return 0;
  }
  async listFiles(dir: string, opts: ListFilesOptions = {}): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const root = this.resolved(dir);
    const exclude = new Set(opts.exclude ?? []);
    for (const k of this.files.keys()) {
      if (!k.startsWith(`${root}/`)) continue;
      const rel = k.slice(root.length + 1);
      if (
        rel
          .split('/')
          .slice(0, -1)
          .some((d) => exclude.has(d))
      )
        continue;
      const { size, mtimeMs } = this.info(k) as EntryInfo;
      out.push({ path: rel, size, mtimeMs, inode: this.inodeOf(k) });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  /** A "hard link" copies the content (no shared writes) and shares the source's inode (listFiles). */
  async link(existing: string, newPath: string): Promise<LinkResult> {
    this.log('link', existing, newPath);
    if (this.files.has(newPath) || this.dirs.has(newPath) || this.links.has(newPath)) return 'exists';
    const content = this.files.get(existing);
    if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file, link '${existing}' -> '${newPath}'`), { code: 'ENOENT' });
    this.ensureParent(newPath);
    this.files.set(newPath, content);
    this.inodes.set(newPath, this.inodeOf(existing));
    return 'linked';
  }
  async linkTree(from: string, to: string, opts?: { exclude?: string[] }) {
    this.log('linkTree', from, to, opts);
    const exclude = opts?.exclude ?? [];
    const skip = (rel: string) => exclude.some((e) => rel === e || rel.startsWith(`${e}/`));
    const res = { files: 0, copied: 0 };
    this.ensureParent(path.join(to, 'x'));
    for (const d of [...this.dirs])
      if (d.startsWith(`${from}/`) && !skip(d.slice(from.length + 1))) this.ensureParent(path.join(to, d.slice(from.length + 1), 'x'));
    for (const [k, target] of [...this.links])
      if (k.startsWith(`${from}/`) && !skip(k.slice(from.length + 1))) this.links.set(path.join(to, k.slice(from.length + 1)), target);
    for (const [k, v] of [...this.files]) {
      if (!k.startsWith(`${from}/`) || skip(k.slice(from.length + 1))) continue;
      const dest = path.join(to, k.slice(from.length + 1));
      if (this.files.has(dest)) continue;
      this.ensureParent(dest);
      this.files.set(dest, v);
      this.inodes.set(dest, this.inodeOf(k));
      res.files++;
    }
    return res;
  }
  /** Bytes are kept as latin1 strings in `files` (exact for binary data and for ASCII text). */
  async readBytes(p: string) {
    this.log('readBytes', p);
    const at = this.resolved(p);
    const c = this.files.get(at);
    return c === undefined ? undefined : Buffer.from(c, this.binary.has(at) ? 'latin1' : 'utf8');
  }
  async writeBytes(p: string, data: Uint8Array, opts?: { mtimeMs?: number }) {
    this.log('writeBytes', p, data.length, opts);
    this.needParent(p, 'open');
    const at = this.resolved(p);
    this.files.set(at, Buffer.from(data).toString('latin1'));
    this.newInode(at);
    this.binary.add(at);
    if (opts?.mtimeMs !== undefined) this.mtimes.set(at, opts.mtimeMs);
  }
  async httpGet(url: string, _timeoutMs?: number, opts?: HttpOptions) {
    this.log('httpGet', url, ...(opts ? [opts] : []));
    return this.http(url, opts);
  }
  async processAlive(pid: number) {
    return this.alive.has(pid);
  }
  async freePort() {
    return 45678;
  }
  async identity() {
    return { hostname: 'test-host', user: 'tester' };
  }
}
