/**
 * The Host contract, as zdd relies on it, run with the same assertions against three hosts:
 * LocalHost on a temp folder, the in-memory RecordingHost (its commands answered by its `respond`
 * rules, its HTTP by `http`), and an SshHost connected to a real sshd on a loopback port (see
 * test/helpers/sshd.ts; it fails, never skips, when sshd is not installed).
 *
 * What the in-memory host cannot do (inodes, permission bits) is skipped there, each with its reason;
 * everything else it must do exactly as a real file system does, so a step that forgets a mkdir
 * fails its unit test too.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandFailed } from '../../src/core/errors.js';
import { LocalHost } from '../../src/host/local.js';
import { RecordingHost } from '../../src/host/recording.js';
import { SshHost } from '../../src/host/ssh.js';
import type { ExecOptions, ExecResult, Host } from '../../src/host/types.js';
import { startSshd } from '../helpers/sshd.js';

/** One host under test, set up in beforeAll. */
interface Subject {
  host: Host;
  /** An existing folder on the host; each test works in a fresh folder under it. */
  base: string;
  identity: { user: string; hostname: string };
  /** A process that runs on the host. */
  livePid: number;
}

interface Kind {
  name: string;
  /** The RecordingHost: no inodes, no permission bits, no clock. */
  inMemory: boolean;
  /** Sets the host up; `defer` registers its teardown as soon as there is something to tear down. */
  make(defer: (teardown: () => Promise<unknown>) => void): Promise<Subject>;
}

// ---- a small HTTP server the hosts GET from (the SSH host's agent runs on this machine's loopback too)

let server: http.Server;
let baseUrl: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/ok') res.end('hello');
    else if (req.url === '/host') res.end(`host=${req.headers.host}`);
    else {
      res.statusCode = 503;
      res.end('warming up');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
});

// ---- the commands the tests run, and the RecordingHost's rules answering them as sh would

const result = (stdout: string, stderr = '', exitCode = 0): Partial<ExecResult> => ({ stdout, stderr, all: stdout + stderr, exitCode });

const SCRIPTS: Record<string, (o: ExecOptions) => Partial<ExecResult>> = {
  'echo one && echo two': () => result('one\ntwo\n'),
  'echo oops >&2; exit 3': () => result('', 'oops\n', 3),
  'exit 4': () => result('', '', 4),
  'printf "%s\\n" "$ZDD_CONTRACT"; pwd': (o) => result(`${o.env?.ZDD_CONTRACT}\n${o.cwd}\n`),
};

function recordingRules(cmd: string[] | string, o: ExecOptions): Partial<ExecResult> {
  const notFound = () => result('', `rules: no answer for ${JSON.stringify(cmd)}\n`, 127);
  if (typeof cmd === 'string') return SCRIPTS[cmd]?.(o) ?? notFound();
  const [file, ...args] = cmd;
  if (file === 'echo') return result(`${args.join(' ')}\n`);
  if (file === 'cat' && args.length === 0) return result(o.input ?? '');
  if (file === 'sh' && args[0] === '-c' && args.length === 2) return SCRIPTS[args[1]!]?.(o) ?? notFound();
  return notFound();
}

// ---- the three hosts

const kinds: Kind[] = [
  {
    name: 'LocalHost',
    inMemory: false,
    async make(defer) {
      const base = await fs.mkdtemp(path.join(os.tmpdir(), 'zdd-contract-local-'));
      defer(() => fs.rm(base, { recursive: true, force: true }));
      return { host: new LocalHost(), base, identity: { user: os.userInfo().username, hostname: os.hostname() }, livePid: process.pid };
    },
  },
  {
    name: 'RecordingHost',
    inMemory: true,
    async make() {
      const host = new RecordingHost();
      host.respond = recordingRules;
      host.http = (url, o) =>
        url === `${baseUrl}/ok`
          ? { status: 200, body: 'hello' }
          : url === `${baseUrl}/host`
            ? { status: 200, body: `host=${o?.headers?.host}` }
            : { status: 503, body: 'warming up' };
      host.alive.add(4321);
      return { host, base: '/srv/contract', identity: { user: 'tester', hostname: 'test-host' }, livePid: 4321 };
    },
  },
  {
    name: 'SshHost (real sshd)',
    inMemory: false,
    async make(defer) {
      const sshd = await startSshd();
      defer(() => sshd.stop());
      const base = await fs.mkdtemp(path.join(os.tmpdir(), 'zdd-contract-ssh-'));
      defer(() => fs.rm(base, { recursive: true, force: true }));
      const host = new SshHost(sshd.target, sshd.settings);
      defer(() => host.close());
      try {
        await host.connect();
      } catch (err) {
        throw new Error(`SshHost: could not connect to the test sshd: ${(err as Error).message}\n${sshd.log()}`, { cause: err });
      }
      const me = await host.identity();
      // The agent's pid: it lives as long as the connection.
      expect(me.pid).toBeTypeOf('number');
      return { host, base, identity: { user: sshd.target.user!, hostname: os.hostname() }, livePid: me.pid! };
    },
  },
];

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

describe.each(kinds)('Host contract: $name', (kind) => {
  let s: Subject;
  let host: Host;
  let n = 0;
  /** A fresh, empty folder on the host for one test. */
  const fresh = async () => {
    const d = path.join(s.base, `t${++n}`);
    await host.mkdir(d);
    return d;
  };

  const teardowns: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    s = await kind.make((t) => teardowns.push(t));
    host = s.host;
    await host.mkdir(s.base);
  }, 30_000);
  // Also after a failed set-up: newest first (the connection, then the folder, then sshd).
  afterAll(async () => {
    for (const t of teardowns.reverse()) await t().catch(() => {});
  }, 30_000);

  describe('files', () => {
    it('writeFile/readFile round trip; writeFile replaces; readFile of a missing file is undefined; no temp file is left', async () => {
      const d = await fresh();
      const f = path.join(d, 'release.json');
      await host.writeFile(f, '{"status":"building"}\n');
      expect(await host.readFile(f)).toBe('{"status":"building"}\n');
      await host.writeFile(f, 'héllo ✓\n');
      expect(await host.readFile(f)).toBe('héllo ✓\n');
      expect(await host.readdir(d)).toEqual(['release.json']);
      expect(await host.readFile(path.join(d, 'missing'))).toBeUndefined();
      expect(await host.readFile(path.join(d, 'no', 'such', 'folder'))).toBeUndefined();
    });

    // No permission bits in memory. (The ecosystem file holds backend.env: zdd writes it 0600.)
    it.skipIf(kind.inMemory)('writeFile applies the mode', async () => {
      const d = await fresh();
      await host.writeFile(path.join(d, 'ecosystem.config.cjs'), 'x', { mode: 0o600 });
      expect((await fs.stat(path.join(d, 'ecosystem.config.cjs'))).mode & 0o777).toBe(0o600);
    });

    // The RecordingHost creates missing parent folders on write, so a unit test cannot catch a step
    // that forgets its mkdir.
    it('writeFile into a missing folder fails', async () => {
      const d = await fresh();
      await expect(host.writeFile(path.join(d, 'nope', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('createExclusive creates the file once: true, then false with the first content kept', async () => {
      const d = await fresh();
      const lock = path.join(d, 'lock');
      expect(await host.createExclusive(lock, 'first\n')).toBe(true);
      expect(await host.readFile(lock)).toBe('first\n');
      expect(await host.createExclusive(lock, 'second\n')).toBe(false);
      expect(await host.readFile(lock)).toBe('first\n');
      expect(await host.readdir(d)).toEqual(['lock']);
    });

    it('mkdir is recursive and accepts an existing folder', async () => {
      const d = await fresh();
      await host.mkdir(path.join(d, 'a', 'b', 'c'));
      for (const p of ['a', 'a/b', 'a/b/c']) expect((await host.stat(path.join(d, p)))?.type).toBe('dir');
      await host.mkdir(path.join(d, 'a', 'b'));
      expect(await host.readdir(path.join(d, 'a'))).toEqual(['b']);
    });

    it('remove deletes a folder tree, a missing path without error, and a symlink without what it points at', async () => {
      const d = await fresh();
      await host.mkdir(path.join(d, 'rel', 'backend', 'lib'));
      await host.writeFile(path.join(d, 'rel', 'release.json'), '{}');
      await host.writeFile(path.join(d, 'rel', 'backend', 'lib', 'x.js'), 'x');
      await host.symlink('backend/lib', path.join(d, 'rel', 'lib-link'));
      await host.remove(path.join(d, 'rel'));
      expect(await host.lstat(path.join(d, 'rel'))).toBeUndefined();
      expect(await host.readFile(path.join(d, 'rel', 'backend', 'lib', 'x.js'))).toBeUndefined();
      expect(await host.readdir(d)).toEqual([]);

      await host.remove(path.join(d, 'never', 'was')); // no error

      await host.mkdir(path.join(d, 'shared', 'uploads'));
      await host.writeFile(path.join(d, 'shared', 'uploads', 'photo.jpg'), 'jpg');
      await host.symlink(path.join(d, 'shared', 'uploads'), path.join(d, 'uploads'));
      await host.remove(path.join(d, 'uploads'));
      expect(await host.lstat(path.join(d, 'uploads'))).toBeUndefined();
      expect(await host.readFile(path.join(d, 'shared', 'uploads', 'photo.jpg'))).toBe('jpg');
    });

    it('rename moves a file, replacing one of the new name', async () => {
      const d = await fresh();
      await host.writeFile(path.join(d, 'a.tmp'), 'new');
      await host.writeFile(path.join(d, 'a'), 'old');
      await host.rename(path.join(d, 'a.tmp'), path.join(d, 'a'));
      expect(await host.readFile(path.join(d, 'a'))).toBe('new');
      expect(await host.readdir(d)).toEqual(['a']);
      await host.rename(path.join(d, 'a'), path.join(d, 'b'));
      expect(await host.readFile(path.join(d, 'a'))).toBeUndefined();
      expect(await host.readFile(path.join(d, 'b'))).toBe('new');
    });

    it('stat follows symlinks, lstat does not; both are undefined for a missing path', async () => {
      const d = await fresh();
      await host.writeFile(path.join(d, 'file'), 'hello');
      await host.mkdir(path.join(d, 'dir'));
      await host.symlink('file', path.join(d, 'to-file'));
      await host.symlink('dir', path.join(d, 'to-dir'));
      await host.symlink('gone', path.join(d, 'dangling'));
      expect(await host.stat(path.join(d, 'file'))).toMatchObject({ type: 'file', size: 5 });
      expect(await host.lstat(path.join(d, 'file'))).toMatchObject({ type: 'file', size: 5 });
      expect((await host.stat(path.join(d, 'dir')))?.type).toBe('dir');
      expect(await host.stat(path.join(d, 'to-file'))).toMatchObject({ type: 'file', size: 5 });
      expect((await host.lstat(path.join(d, 'to-file')))?.type).toBe('symlink');
      expect((await host.stat(path.join(d, 'to-dir')))?.type).toBe('dir');
      expect((await host.lstat(path.join(d, 'to-dir')))?.type).toBe('symlink');
      expect(await host.stat(path.join(d, 'dangling'))).toBeUndefined();
      expect((await host.lstat(path.join(d, 'dangling')))?.type).toBe('symlink');
      expect(await host.stat(path.join(d, 'missing'))).toBeUndefined();
      expect(await host.lstat(path.join(d, 'missing'))).toBeUndefined();
    });

    // The RecordingHost's sizes are string lengths (UTF-16 code units), not bytes.
    it('stat and listFiles give sizes in bytes', async () => {
      const d = await fresh();
      await host.writeFile(path.join(d, 'utf8.txt'), 'é✓');
      expect((await host.stat(path.join(d, 'utf8.txt')))?.size).toBe(5);
      expect(await host.listFiles(d)).toMatchObject([{ path: 'utf8.txt', size: 5 }]);
    });

    // The RecordingHost resolves a symlink only as the last part of a path.
    it('paths through a symlinked folder resolve (current/backend/...)', async () => {
      const d = await fresh();
      await host.mkdir(path.join(d, 'releases', '1', 'backend'));
      await host.writeFile(path.join(d, 'releases', '1', 'backend', 'server.js'), 'js');
      await host.symlinkAtomic('releases/1', path.join(d, 'current'));
      expect((await host.stat(path.join(d, 'current', 'backend', 'server.js')))?.type).toBe('file');
      expect(await host.readFile(path.join(d, 'current', 'backend', 'server.js'))).toBe('js');
    });

    it('readdir lists names (files, folders, links) sorted; a missing folder lists nothing', async () => {
      const d = await fresh();
      await host.writeFile(path.join(d, 'b.txt'), 'b');
      await host.mkdir(path.join(d, 'c', 'deeper'));
      await host.writeFile(path.join(d, 'c', 'deeper', 'x'), 'x');
      await host.symlink('c', path.join(d, 'a-link'));
      expect(await host.readdir(d)).toEqual(['a-link', 'b.txt', 'c']);
      expect(await host.readdir(path.join(d, 'c'))).toEqual(['deeper']);
      expect(await host.readdir(path.join(d, 'missing'))).toEqual([]);
    });

    it('readlink gives the link text as written; undefined for a file or a missing path', async () => {
      const d = await fresh();
      await host.writeFile(path.join(d, 'file'), 'x');
      await host.symlink('releases/20261127103000', path.join(d, 'current'));
      expect(await host.readlink(path.join(d, 'current'))).toBe('releases/20261127103000');
      expect(await host.readlink(path.join(d, 'file'))).toBeUndefined();
      expect(await host.readlink(path.join(d, 'missing'))).toBeUndefined();
    });

    it('symlinkAtomic creates a link, replaces an existing one (relative, as given) and leaves no temp name', async () => {
      const d = await fresh();
      for (const id of ['1', '2']) {
        await host.mkdir(path.join(d, 'releases', id));
        await host.writeFile(path.join(d, 'releases', id, 'release.json'), id);
      }
      const current = path.join(d, 'current');
      await host.symlinkAtomic('releases/1', current);
      expect(await host.readlink(current)).toBe('releases/1');
      await host.symlinkAtomic('releases/2', current);
      expect(await host.readlink(current)).toBe('releases/2');
      expect((await host.lstat(current))?.type).toBe('symlink');
      expect((await host.stat(current))?.type).toBe('dir');
      // Replaced the link itself, not a link inside the folder it pointed at.
      expect(await host.readdir(path.join(d, 'releases', '1'))).toEqual(['release.json']);
      expect(await host.readdir(d)).toEqual(['current', 'releases']);
    });

    it('listFiles lists regular files recursively (relative "/" paths, sizes, sorted), no links, [] for a missing folder', async () => {
      const d = await fresh();
      await host.mkdir(path.join(d, 'assets', 'img'));
      await host.mkdir(path.join(d, 'empty'));
      await host.writeFile(path.join(d, 'index.html'), '<html>');
      await host.writeFile(path.join(d, 'assets', 'app-1a2b.js'), 'js');
      await host.writeFile(path.join(d, 'assets', 'img', 'logo.svg'), '<svg/>');
      await host.symlink('assets', path.join(d, 'assets-link'));
      await host.symlink('index.html', path.join(d, 'index-link.html'));
      const files = await host.listFiles(d);
      expect(files.map((f) => [f.path, f.size])).toEqual([
        ['assets/app-1a2b.js', 2],
        ['assets/img/logo.svg', 6],
        ['index.html', 6],
      ]);
      expect(await host.listFiles(path.join(d, 'assets'))).toMatchObject([{ path: 'app-1a2b.js' }, { path: 'img/logo.svg' }]);
      expect(await host.listFiles(path.join(d, 'missing'))).toEqual([]);
    });

    it('listFiles gives each file its inode: shared by hard links (link, linkTree), not by a copy or a rewrite', async () => {
      const d = await fresh();
      await host.mkdir(path.join(d, 'a', 'lib'));
      await host.writeFile(path.join(d, 'a', 'lib', 'x.js'), 'x');
      await host.writeFile(path.join(d, 'a', 'y.js'), 'y');
      await host.linkTree(path.join(d, 'a'), path.join(d, 'b'));
      await host.link(path.join(d, 'a', 'y.js'), path.join(d, 'c', 'y.js'));
      await host.writeFile(path.join(d, 'b', 'y.js'), 'y2');
      const ino = async (rel: string) => (await host.listFiles(d)).find((f) => f.path === rel)?.inode;
      expect(typeof (await ino('a/y.js'))).toBe('string');
      expect(await ino('b/lib/x.js')).toBe(await ino('a/lib/x.js'));
      expect(await ino('c/y.js')).toBe(await ino('a/y.js'));
      expect(await ino('b/y.js')).not.toBe(await ino('a/y.js'));
      expect(await ino('a/y.js')).not.toBe(await ino('a/lib/x.js'));
    });

    it('listFiles with exclude does not enter folders of those names, at any depth', async () => {
      const d = await fresh();
      for (const dir of ['node_modules/pkg', 'data', 'lib/node_modules/x']) await host.mkdir(path.join(d, dir));
      await host.writeFile(path.join(d, 'node_modules', 'pkg', 'index.js'), 'p');
      await host.writeFile(path.join(d, 'lib', 'node_modules', 'x', 'i.js'), 'x');
      await host.writeFile(path.join(d, 'data', 'app.db'), 'db');
      await host.writeFile(path.join(d, 'node_modules.txt'), 'n');
      expect((await host.listFiles(d, { exclude: ['node_modules'] })).map((f) => f.path)).toEqual(['data/app.db', 'node_modules.txt']);
    });

    it("link makes the new name with the same content (creating folders) -> 'linked'; a taken name -> 'exists', untouched", async () => {
      const d = await fresh();
      const src = path.join(d, 'old', 'assets', 'a.js');
      await host.mkdir(path.dirname(src));
      await host.writeFile(src, 'old chunk');
      const dest = path.join(d, 'new', 'assets', 'a.js');
      expect(await host.link(src, dest)).toBe('linked');
      expect(await host.readFile(dest)).toBe('old chunk');
      expect(await host.readFile(src)).toBe('old chunk');
      await host.writeFile(path.join(d, 'new', 'assets', 'b.js'), 'own build');
      expect(await host.link(src, path.join(d, 'new', 'assets', 'b.js'))).toBe('exists');
      expect(await host.readFile(path.join(d, 'new', 'assets', 'b.js'))).toBe('own build');
      await expect(host.link(path.join(d, 'missing'), path.join(d, 'new', 'c.js'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    // No inodes in memory: the RecordingHost's "hard link" is a copy.
    it.skipIf(kind.inMemory)('link is a real hard link: one inode, two names', async () => {
      const d = await fresh();
      await host.writeFile(path.join(d, 'a'), 'data');
      expect(await host.link(path.join(d, 'a'), path.join(d, 'b'))).toBe('linked');
      const [a, b] = await Promise.all([fs.stat(path.join(d, 'a')), fs.stat(path.join(d, 'b'))]);
      expect(b.ino).toBe(a.ino);
      expect(a.nlink).toBe(2);
    });

    it('linkTree recreates a tree (files, symlinks as written), leaving out `exclude` and keeping taken names', async () => {
      const d = await fresh();
      const from = path.join(d, 'from');
      await host.mkdir(path.join(from, 'lib'));
      await host.mkdir(path.join(from, 'node_modules', 'x'));
      await host.writeFile(path.join(from, 'server.js'), 'server');
      await host.writeFile(path.join(from, 'lib', 'util.js'), 'util');
      await host.writeFile(path.join(from, 'node_modules', 'x', 'index.js'), 'x');
      await host.symlink('/srv/shop/shared/.env', path.join(from, '.env'));
      const to = path.join(d, 'to');
      await host.mkdir(to);
      await host.writeFile(path.join(to, 'server.js'), 'mine');
      const r = await host.linkTree(from, to, { exclude: ['node_modules'] });
      expect(r.files).toBe(1);
      expect(await host.readFile(path.join(to, 'lib', 'util.js'))).toBe('util');
      expect(await host.readFile(path.join(to, 'server.js'))).toBe('mine');
      expect(await host.readlink(path.join(to, '.env'))).toBe('/srv/shop/shared/.env');
      expect(await host.lstat(path.join(to, 'node_modules'))).toBeUndefined();
    });

    it('writeBytes/readBytes round trip every byte value; readBytes of a missing file is undefined', async () => {
      const d = await fresh();
      const data = Uint8Array.from({ length: 256 }, (_, i) => i);
      await host.writeBytes(path.join(d, 'app.js.br'), data);
      expect(Buffer.from((await host.readBytes(path.join(d, 'app.js.br')))!)).toEqual(Buffer.from(data));
      expect(await host.readBytes(path.join(d, 'missing'))).toBeUndefined();
      expect(await host.readdir(d)).toEqual(['app.js.br']);
    });

    // The RecordingHost keeps no timestamps (every mtimeMs is 0); precompress gives .gz/.br the original's mtime.
    it('writeBytes sets the given mtime, which stat and listFiles report', async () => {
      const d = await fresh();
      const mtimeMs = Date.UTC(2026, 10, 27, 10, 30, 0, 250);
      await host.writeBytes(path.join(d, 'a.gz'), Uint8Array.of(1, 2, 3), { mtimeMs });
      expect((await host.stat(path.join(d, 'a.gz')))?.mtimeMs).toBe(mtimeMs);
      expect((await host.listFiles(d))[0]?.mtimeMs).toBe(mtimeMs);
    });

    it('tempDir(prefix) makes a new empty folder named <prefix>…, a different one each call', async () => {
      const a = await host.tempDir('zdd-frontend-');
      const b = await host.tempDir('zdd-frontend-');
      try {
        expect(a).not.toBe(b);
        for (const t of [a, b]) {
          expect(path.isAbsolute(t)).toBe(true);
          expect(path.basename(t).startsWith('zdd-frontend-')).toBe(true);
          expect(path.basename(t).length).toBeGreaterThan('zdd-frontend-'.length);
          expect((await host.stat(t))?.type).toBe('dir');
          expect(await host.readdir(t)).toEqual([]);
        }
        await host.writeFile(path.join(a, 'index.html'), 'x');
        expect(await host.readdir(b)).toEqual([]);
      } finally {
        await host.remove(a);
        await host.remove(b);
      }
      expect(await host.stat(a)).toBeUndefined();
    });
  });

  describe('commands', () => {
    it('exec runs an argv without a shell: stdout, exit code 0', async () => {
      const r = await host.exec(['echo', 'a  b', '$(touch PWNED)', ';', '*']);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('a  b $(touch PWNED) ; *\n');
      expect(r.all).toContain('a  b');
    });

    it('exec passes cwd, env and stdin', async () => {
      const d = await fresh();
      const r = await host.exec(['sh', '-c', 'printf "%s\\n" "$ZDD_CONTRACT"; pwd'], { cwd: d, env: { ZDD_CONTRACT: 'it is "me"' } });
      expect(r.stdout).toBe(`it is "me"\n${d}\n`);
      expect((await host.exec(['cat'], { input: 'from stdin\n' })).stdout).toBe('from stdin\n');
    });

    it('exec of a failing command: reject: false gives its exit code; otherwise it throws CommandFailed with the output', async () => {
      const r = await host.exec(['sh', '-c', 'echo oops >&2; exit 3'], { reject: false });
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toBe('oops\n');
      const err = await rejection(host.exec(['sh', '-c', 'echo oops >&2; exit 3']));
      expect(err).toBeInstanceOf(CommandFailed);
      expect((err as CommandFailed).exitCodeOfCommand).toBe(3);
      expect((err as CommandFailed).tail).toContain('oops');
      expect(err.message).toContain('exited with 3');
    });

    it('shell runs a command line through sh; a failure gives its code or throws', async () => {
      const r = await host.shell('echo one && echo two');
      expect(r).toMatchObject({ exitCode: 0, stdout: 'one\ntwo\n' });
      expect((await host.shell('exit 4', { reject: false })).exitCode).toBe(4);
      const err = await rejection(host.shell('exit 4'));
      expect(err).toBeInstanceOf(CommandFailed);
      expect((err as CommandFailed).command).toBe('exit 4');
      expect((err as CommandFailed).exitCodeOfCommand).toBe(4);
    });
  });

  describe('facts', () => {
    it('identity names the user and the hostname', async () => {
      expect(await host.identity()).toMatchObject(s.identity);
    });

    it('processAlive: true for a running process, false for a pid that is not there', async () => {
      expect(await host.processAlive(s.livePid)).toBe(true);
      expect(await host.processAlive(2 ** 22 + 12345)).toBe(false);
    });

    it('freePort gives a port number', async () => {
      const port = await host.freePort();
      expect(Number.isInteger(port) && port > 0 && port < 65536).toBe(true);
    });

    it('httpGet gives the status and body, and does not throw for a 503', async () => {
      expect(await host.httpGet(`${baseUrl}/ok`, 5000)).toEqual({ status: 200, body: 'hello' });
      expect(await host.httpGet(`${baseUrl}/busy`, 5000)).toEqual({ status: 503, body: 'warming up' });
    });

    it('httpGet sends the headers it is given (Host, for one server block of Nginx)', async () => {
      expect(await host.httpGet(`${baseUrl}/host`, 5000, { headers: { host: 'shop.example.com' } })).toEqual({ status: 200, body: 'host=shop.example.com' });
    });
  });
});
