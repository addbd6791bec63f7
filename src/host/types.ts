/**
 * The one door through which zdd touches a target: every command it runs and every file it reads or
 * writes there. Steps never import `node:fs` or `execa` for the target; they call a Host. A local
 * host runs on this machine, a printing host shows what would happen (`--dry-run`), a recording host
 * backs unit tests, and an SSH host (host/ssh.ts) does it on another machine.
 */

export interface ExecOptions {
  cwd?: string;
  /** Extra environment, merged over the host's own environment. */
  env?: Record<string, string | undefined>;
  /** Text written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
  /** When false, a non-zero exit is returned rather than thrown. Default true. */
  reject?: boolean;
  /** The command only reads state, so it also runs under `--dry-run`. */
  readOnly?: boolean;
  /** Called with each chunk of output as it arrives (for `--verbose`). */
  onOutput?: (chunk: string) => void;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved, as a terminal would show them. */
  all: string;
  /** For a printing host: the command did not really run. */
  simulated?: boolean;
}

export interface SpawnOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Open an IPC channel (so the child can `process.send('ready')`). */
  ipc?: boolean;
}

/** A long-running process on the host (the canary). */
export interface BackgroundProcess {
  readonly pid: number | undefined;
  /** Resolves once `pid` is known (a remote process starts asynchronously). */
  readonly started?: Promise<unknown>;
  /** Output so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves when the process exits, with its exit code (or null when killed by a signal). */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Resolves when the child sends an IPC message equal to `message`. */
  waitForMessage(message: string): Promise<void>;
  /** Stop it: SIGINT, then SIGKILL after `graceMs`. Resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface EntryInfo {
  type: EntryType;
  size: number;
  mtimeMs: number;
}

/** A regular file found by `listFiles`. */
export interface FileEntry {
  /** Relative to the folder listed, with "/" separators. */
  path: string;
  size: number;
  mtimeMs: number;
  /**
   * The file's identity on its file system, `<dev>:<ino>`: hard links of one file share it (so
   * `zdd releases` counts bytes shared between releases once).
   */
  inode: string;
}

export interface ListFilesOptions {
  /** Folder names skipped wherever they appear (`node_modules`). */
  exclude?: string[];
}

export interface HttpOptions {
  /** Extra request headers (`Host` for a request through Nginx to one of its server blocks). */
  headers?: Record<string, string>;
}

/** What `link` did: a hard link, a copy (no hard links possible there), or nothing (the name was taken). */
export type LinkResult = 'linked' | 'copied' | 'exists';

/** What an upload sent (hosts that copy locally return nothing). */
export interface UploadResult {
  sentBytes: number;
  totalBytes: number;
}

export interface HttpResult {
  status: number;
  body: string;
}

export interface Host {
  /** How the host is named in output: `local`, `deploy@web1`. */
  readonly name: string;
  /** Does this host really change things? False for the printing host. */
  readonly live: boolean;

  /** Run a program with an argv array. No shell: values from config are never interpolated. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Run a command line the user wrote in the config, through `sh -c`, shown as written. */
  shell(commandLine: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Start a long-running process (the canary). */
  spawn(argv: string[], opts: SpawnOptions): BackgroundProcess;

  readFile(path: string): Promise<string | undefined>;
  /** Write a file atomically (temp file in the same folder + rename). */
  writeFile(path: string, content: string, opts?: { mode?: number }): Promise<void>;
  /** Create a file only if it does not exist (O_EXCL). Returns false when it already existed. */
  createExclusive(path: string, content: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  /** A new empty folder under the host's temp folder, named `<prefix>XXXXXX`; the caller removes it. */
  tempDir(prefix: string): Promise<string>;
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  stat(path: string): Promise<EntryInfo | undefined>;
  /** Like stat but does not follow a final symlink. */
  lstat(path: string): Promise<EntryInfo | undefined>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string | undefined>;
  /** Point `linkPath` at `target` atomically: symlink under a temp name in the same folder, then rename(2). */
  symlinkAtomic(target: string, linkPath: string): Promise<void>;
  /** Create a symlink (fails if `linkPath` exists). */
  symlink(target: string, linkPath: string): Promise<void>;
  /** Copy a folder from the machine zdd runs on into the host, skipping top-level-or-nested names in `exclude`. */
  upload(localDir: string, hostDir: string, opts?: { exclude?: string[]; linkDest?: string[] }): Promise<UploadResult | void>;
  /** Total bytes of regular files under a path (hard links counted once). */
  diskUsage(path: string): Promise<number>;
  /**
   * Every regular file under `dir`, recursively (symlinks are neither followed nor listed); [] when
   * `dir` is missing. Folders named in `opts.exclude` are not entered.
   */
  listFiles(dir: string, opts?: ListFilesOptions): Promise<FileEntry[]>;
  /**
   * Hard-link the file `existing` as `newPath`, creating parent folders. Never replaces anything:
   * `exists` when `newPath` is taken. Where a hard link is impossible (another filesystem, or one
   * without hard links) the file is copied with its mtime instead (`copied`).
   */
  link(existing: string, newPath: string): Promise<LinkResult>;
  /**
   * `cp -al`: recreate the folder `from` as `to` (created, with its parents), every regular file
   * hard-linked, symlinks recreated with the same target, never followed. `exclude` holds paths
   * relative to `from` to leave out (a folder whole). Where a hard link is impossible the file is
   * copied with its mtime (counted in `copied`). Nothing is replaced: a name taken in `to` is kept.
   */
  linkTree(from: string, to: string, opts?: { exclude?: string[] }): Promise<{ files: number; copied: number }>;
  /** A file's raw bytes, or undefined when it does not exist. */
  readBytes(path: string): Promise<Uint8Array | undefined>;
  /** Write raw bytes atomically (temp file + rename), optionally with a given mtime (ms since the epoch). */
  writeBytes(path: string, data: Uint8Array, opts?: { mtimeMs?: number; mode?: number }): Promise<void>;

  /** GET a URL from the host itself (health checks). Never throws for HTTP statuses. */
  httpGet(url: string, timeoutMs: number, opts?: HttpOptions): Promise<HttpResult>;
  /** A TCP port free on the host's loopback interface (for the canary). */
  freePort(): Promise<number>;
  /** Does a process with this pid exist on the host? */
  processAlive(pid: number): Promise<boolean>;
  /** Host facts for release.json and the lock. */
  identity(): Promise<{ hostname: string; user: string; pid?: number }>;
}

/**
 * Is `host` this machine (the local host, or a dry run's printer in front of it)? Then zdd may use
 * what it has in-process: its own Node, PM2's API over the daemon's socket.
 */
export function onThisMachine(host: Host): boolean {
  return host.name === 'local';
}
