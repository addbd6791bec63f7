import path from 'node:path';
import { CommandFailed } from '../core/errors.js';
import type { BackgroundProcess, EntryInfo, ExecOptions, ExecResult, FileEntry, Host, HttpResult, LinkResult } from './types.js';

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
  respond: Responder = () => undefined;
  http: (url: string) => HttpResult = () => ({ status: 200, body: 'ok' });
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
    return this.files.get(p);
  }
  async writeFile(p: string, content: string) {
    this.log('writeFile', p, content);
    this.ensureParent(p);
    this.files.set(p, content);
  }
  async createExclusive(p: string, content: string) {
    this.log('createExclusive', p, content);
    if (this.files.has(p)) return false;
    this.ensureParent(p);
    this.files.set(p, content);
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
    for (const m of [this.files, this.links]) for (const k of [...m.keys()]) if (k === p || k.startsWith(`${p}/`)) m.delete(k);
    for (const d of [...this.dirs]) if (d === p || d.startsWith(`${p}/`)) this.dirs.delete(d);
  }
  async rename(from: string, to: string) {
    this.log('rename', from, to);
    if (this.links.has(from)) {
      this.links.set(to, this.links.get(from)!);
      this.links.delete(from);
    } else if (this.files.has(from)) {
      this.files.set(to, this.files.get(from)!);
      this.files.delete(from);
    }
  }
  private info(p: string): EntryInfo | undefined {
    if (this.links.has(p)) return { type: 'symlink', size: 0, mtimeMs: 0 };
    if (this.files.has(p)) return { type: 'file', size: this.files.get(p)!.length, mtimeMs: 0 };
    if (this.dirs.has(p)) return { type: 'dir', size: 0, mtimeMs: 0 };
    return undefined;
  }
  async stat(p: string) {
    const l = this.links.get(p);
    return l === undefined ? this.info(p) : this.info(path.resolve(path.dirname(p), l));
  }
  async lstat(p: string) {
    return this.info(p);
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
  async listFiles(dir: string): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    for (const [k, v] of this.files) if (k.startsWith(`${dir}/`)) out.push({ path: k.slice(dir.length + 1), size: v.length, mtimeMs: 0 });
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  /** No inodes here: a "hard link" copies the content. */
  async link(existing: string, newPath: string): Promise<LinkResult> {
    this.log('link', existing, newPath);
    if (this.files.has(newPath) || this.dirs.has(newPath) || this.links.has(newPath)) return 'exists';
    const content = this.files.get(existing);
    if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file, link '${existing}' -> '${newPath}'`), { code: 'ENOENT' });
    this.ensureParent(newPath);
    this.files.set(newPath, content);
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
      res.files++;
    }
    return res;
  }
  /** Bytes are kept as latin1 strings in `files` (exact for binary data and for ASCII text). */
  async readBytes(p: string) {
    this.log('readBytes', p);
    const c = this.files.get(p);
    return c === undefined ? undefined : Buffer.from(c, 'latin1');
  }
  async writeBytes(p: string, data: Uint8Array, opts?: { mtimeMs?: number }) {
    this.log('writeBytes', p, data.length, opts);
    this.ensureParent(p);
    this.files.set(p, Buffer.from(data).toString('latin1'));
  }
  async httpGet(url: string) {
    this.log('httpGet', url);
    return this.http(url);
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
