import type { BackgroundProcess, ExecOptions, ExecResult, Host, HttpOptions, ListFilesOptions } from './types.js';

/**
 * `--dry-run`: reads go to the real host (so plans are accurate), every change is printed instead of
 * made. Commands marked `readOnly` still run.
 */
export class PrintingHost implements Host {
  readonly live = false;
  readonly name: string;
  constructor(
    private readonly inner: Host,
    private readonly print: (line: string) => void,
  ) {
    this.name = inner.name;
  }

  private would(what: string): void {
    this.print(`would ${what}`);
  }

  private simulated(): ExecResult {
    return { exitCode: 0, stdout: '', stderr: '', all: '', simulated: true };
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (opts.readOnly) return this.inner.exec(argv, opts);
    this.would(`run: ${argv.join(' ')}${opts.cwd ? `  (in ${opts.cwd})` : ''}`);
    return this.simulated();
  }

  async shell(commandLine: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (opts.readOnly) return this.inner.shell(commandLine, opts);
    this.would(`run: ${commandLine}${opts.cwd ? `  (in ${opts.cwd})` : ''}`);
    return this.simulated();
  }

  spawn(argv: string[], opts: { cwd: string }): BackgroundProcess {
    this.would(`start: ${argv.join(' ')}  (in ${opts.cwd})`);
    const exited = new Promise<{ code: number | null; signal: string | null }>(() => {});
    return {
      pid: undefined,
      output: () => '',
      exited,
      waitForMessage: async () => {},
      stop: async () => {},
    };
  }

  readFile(p: string) {
    return this.inner.readFile(p);
  }
  async writeFile(p: string) {
    this.would(`write ${p}`);
  }
  async createExclusive(p: string) {
    this.would(`create ${p}`);
    return true;
  }
  async mkdir(p: string) {
    this.would(`create folder ${p}`);
  }
  async tempDir(prefix: string) {
    this.would(`create a temp folder ${prefix}XXXXXX`);
    return `/tmp/${prefix}XXXXXX`;
  }
  async remove(p: string) {
    this.would(`remove ${p}`);
  }
  async rename(from: string, to: string) {
    this.would(`rename ${from} -> ${to}`);
  }
  stat(p: string) {
    return this.inner.stat(p);
  }
  lstat(p: string) {
    return this.inner.lstat(p);
  }
  readdir(p: string) {
    return this.inner.readdir(p);
  }
  readlink(p: string) {
    return this.inner.readlink(p);
  }
  async symlinkAtomic(target: string, linkPath: string) {
    this.would(`point ${linkPath} -> ${target} (symlink + rename)`);
  }
  async symlink(target: string, linkPath: string) {
    this.would(`link ${linkPath} -> ${target}`);
  }
  async upload(localDir: string, hostDir: string) {
    this.would(`copy ${localDir} -> ${hostDir}`);
  }
  diskUsage(p: string) {
    return this.inner.diskUsage(p);
  }
  listFiles(dir: string, opts?: ListFilesOptions) {
    return this.inner.listFiles(dir, opts);
  }
  async link(existing: string, newPath: string) {
    this.would(`hard-link ${newPath} -> ${existing}`);
    return 'linked' as const;
  }
  async linkTree(from: string, to: string) {
    this.would(`hard-link every file of ${from} into ${to}`);
    return { files: 0, copied: 0 };
  }
  readBytes(p: string) {
    return this.inner.readBytes(p);
  }
  async writeBytes(p: string) {
    this.would(`write ${p}`);
  }
  httpGet(url: string, timeoutMs: number, opts?: HttpOptions) {
    return this.inner.httpGet(url, timeoutMs, opts);
  }
  processAlive(pid: number) {
    return this.inner.processAlive(pid);
  }
  freePort() {
    return this.inner.freePort();
  }
  identity() {
    return this.inner.identity();
  }
}
