/**
 * LocalHost on a temp folder (atomic writes and links, upload, disk usage, commands) and the
 * PrintingHost of `--dry-run` (prints mutations, touches nothing, still runs read-only commands).
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CommandFailed } from '../../src/core/errors.js';
import { LocalHost, tail } from '../../src/host/local.js';
import { PrintingHost } from '../../src/host/printing.js';
import { RecordingHost } from '../../src/host/recording.js';
import type { Host } from '../../src/host/types.js';
import { put } from '../helpers/steps.js';

const roots: string[] = [];
let dir: string;
const host = new LocalHost();

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'zdd-host-'));
  roots.push(dir);
});

afterAll(async () => {
  await Promise.all(roots.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('LocalHost files', () => {
  it('writeFile writes the content, replaces an existing file, leaves no temp file and applies the mode', async () => {
    const f = path.join(dir, 'ecosystem.config.cjs');
    await host.writeFile(f, 'one\n');
    await host.writeFile(f, 'two\n', { mode: 0o600 });
    expect(await fs.readFile(f, 'utf8')).toBe('two\n');
    expect((await fs.stat(f)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(dir)).toEqual(['ecosystem.config.cjs']);
  });

  it('writeFile replaces by rename: a reader holding the old inode never sees a partial file', async () => {
    const f = path.join(dir, 'release.json');
    await host.writeFile(f, 'old');
    const inodeBefore = (await fs.stat(f)).ino;
    await host.writeFile(f, 'x'.repeat(100_000));
    expect((await fs.stat(f)).ino).not.toBe(inodeBefore);
    expect(await fs.readFile(f, 'utf8')).toHaveLength(100_000);
  });

  it('writeFile into a missing folder fails and leaves nothing behind', async () => {
    await expect(host.writeFile(path.join(dir, 'nope', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('readFile returns undefined for a missing file', async () => {
    expect(await host.readFile(path.join(dir, 'missing'))).toBeUndefined();
  });

  it('createExclusive creates once, then returns false and keeps the first content', async () => {
    const f = path.join(dir, 'lock');
    expect(await host.createExclusive(f, 'first')).toBe(true);
    expect(await host.createExclusive(f, 'second')).toBe(false);
    expect(await fs.readFile(f, 'utf8')).toBe('first');
    expect(await fs.readdir(dir)).toEqual(['lock']);
  });

  it('createExclusive among racing callers: exactly one wins and the file holds its whole content', async () => {
    const f = path.join(dir, 'lock');
    const contents = Array.from({ length: 20 }, (_, i) => String(i).repeat(50_000));
    const results = await Promise.all(contents.map((c) => host.createExclusive(f, c)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = contents[results.indexOf(true)]!;
    expect(await fs.readFile(f, 'utf8')).toBe(winner);
    expect(await fs.readdir(dir)).toEqual(['lock']);
  });

  it('symlinkAtomic creates a link and replaces an existing one, leaving no temp link', async () => {
    await fs.mkdir(path.join(dir, 'releases', 'a'), { recursive: true });
    await fs.mkdir(path.join(dir, 'releases', 'b'), { recursive: true });
    const link = path.join(dir, 'current');
    await host.symlinkAtomic('releases/a', link);
    expect(await host.readlink(link)).toBe('releases/a');
    await host.symlinkAtomic('releases/b', link);
    expect(await host.readlink(link)).toBe('releases/b');
    expect((await host.lstat(link))?.type).toBe('symlink');
    expect((await host.stat(link))?.type).toBe('dir');
    expect(await fs.readdir(dir)).toEqual(['current', 'releases']);
  });

  it('symlinkAtomic: during 200 swaps, readers in parallel always find the link resolving', async () => {
    for (const r of ['a', 'b']) {
      await fs.mkdir(path.join(dir, 'releases', r), { recursive: true });
      await fs.writeFile(path.join(dir, 'releases', r, 'index.html'), r);
    }
    const link = path.join(dir, 'current');
    await host.symlinkAtomic('releases/a', link);
    let stop = false;
    const errors: string[] = [];
    let reads = 0;
    // Several readers keep libuv's thread pool busy alongside the renames.
    const reader = async () => {
      while (!stop) {
        try {
          const target = await fs.readlink(link);
          const body = await fs.readFile(path.join(link, 'index.html'), 'utf8');
          if (!['releases/a', 'releases/b'].includes(target) || !['a', 'b'].includes(body)) errors.push(`odd: ${target} ${body}`);
          reads++;
        } catch (err) {
          errors.push((err as NodeJS.ErrnoException).code ?? String(err));
        }
      }
    };
    const readers = [reader(), reader(), reader()];
    for (let i = 0; i < 200; i++) await host.symlinkAtomic(i % 2 ? 'releases/a' : 'releases/b', link);
    stop = true;
    await Promise.all(readers);
    expect(errors).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(await fs.readdir(dir)).toEqual(['current', 'releases']);
  });

  it('upload copies a tree without node_modules/.git at any depth and keeps symlinks as symlinks', async () => {
    const src = path.join(dir, 'src');
    await fs.mkdir(path.join(src, 'node_modules', 'x'), { recursive: true });
    await fs.mkdir(path.join(src, '.git'), { recursive: true });
    await fs.mkdir(path.join(src, 'lib', 'node_modules', 'y'), { recursive: true });
    await fs.mkdir(path.join(src, 'lib', 'deep', '.git'), { recursive: true });
    await fs.writeFile(path.join(src, 'server.js'), 'console.log(1)');
    await fs.writeFile(path.join(src, 'node_modules', 'x', 'index.js'), '');
    await fs.writeFile(path.join(src, '.git', 'HEAD'), '');
    await fs.writeFile(path.join(src, 'lib', 'a.js'), 'a');
    await fs.writeFile(path.join(src, 'lib', 'node_modules', 'y', 'i.js'), '');
    await fs.writeFile(path.join(src, 'lib', 'deep', 'b.js'), 'b');
    await fs.writeFile(path.join(src, 'lib', 'deep', '.git', 'HEAD'), '');
    await fs.symlink('lib/a.js', path.join(src, 'alias.js'));
    await fs.symlink('/etc/hostname', path.join(src, 'abs-link'));
    await fs.symlink('../outside', path.join(src, 'lib', 'dangling'));

    const dest = path.join(dir, 'releases', 'r1', 'backend');
    await host.upload(src, dest, { exclude: ['node_modules', '.git'] });

    const listing: string[] = [];
    const walk = async (d: string) => {
      for (const e of await fs.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        listing.push(path.relative(dest, p));
        if (e.isDirectory()) await walk(p);
      }
    };
    await walk(dest);
    expect(listing.sort()).toEqual(['abs-link', 'alias.js', 'lib', 'lib/a.js', 'lib/dangling', 'lib/deep', 'lib/deep/b.js', 'server.js']);
    expect((await fs.lstat(path.join(dest, 'alias.js'))).isSymbolicLink()).toBe(true);
    expect(await fs.readlink(path.join(dest, 'alias.js'))).toBe('lib/a.js');
    expect(await fs.readlink(path.join(dest, 'abs-link'))).toBe('/etc/hostname');
    expect(await fs.readlink(path.join(dest, 'lib', 'dangling'))).toBe('../outside');
    expect(await fs.readFile(path.join(dest, 'lib', 'deep', 'b.js'), 'utf8')).toBe('b');
  });

  it('diskUsage counts regular files, hard links once, and not symlinks', async () => {
    await fs.mkdir(path.join(dir, 'sub'));
    await fs.writeFile(path.join(dir, 'a'), 'x'.repeat(1000));
    await fs.writeFile(path.join(dir, 'sub', 'b'), 'y'.repeat(234));
    await fs.link(path.join(dir, 'a'), path.join(dir, 'sub', 'a-hardlink'));
    await fs.symlink(path.join(dir, 'a'), path.join(dir, 'a-symlink'));
    expect(await host.diskUsage(dir)).toBe(1234);
    expect(await host.diskUsage(path.join(dir, 'missing'))).toBe(0);
  });

  it('readdir is sorted and [] for a missing folder; readlink is undefined for a non-link', async () => {
    await fs.writeFile(path.join(dir, 'b'), '');
    await fs.writeFile(path.join(dir, 'a'), '');
    expect(await host.readdir(dir)).toEqual(['a', 'b']);
    expect(await host.readdir(path.join(dir, 'missing'))).toEqual([]);
    expect(await host.readlink(path.join(dir, 'a'))).toBeUndefined();
    expect(await host.readlink(path.join(dir, 'missing'))).toBeUndefined();
    expect(await host.stat(path.join(dir, 'missing'))).toBeUndefined();
  });
});

describe('LocalHost commands', () => {
  it('exec passes arguments literally: no shell interpolation', async () => {
    const r = await host.exec(['printf', '%s|%s', '$(echo hi)', '`id`; rm -rf /nonexistent-zdd'], { cwd: dir });
    expect(r.stdout).toBe('$(echo hi)|`id`; rm -rf /nonexistent-zdd');
    expect(r.exitCode).toBe(0);
  });

  it('shell runs a command line through sh, as the user wrote it', async () => {
    const r = await host.shell('echo $(echo hi) > out.txt && cat out.txt', { cwd: dir });
    expect(r.stdout).toBe('hi\n');
    expect(await fs.readFile(path.join(dir, 'out.txt'), 'utf8')).toBe('hi\n');
  });

  it('passes env and input', async () => {
    const r = await host.exec(['sh', '-c', 'printf "%s " "$ZDD_T"; cat'], { env: { ZDD_T: 'v' }, input: 'from stdin' });
    expect(r.stdout).toBe('v from stdin');
  });

  it('a non-zero exit throws CommandFailed with the exit code and the last 30 lines of output', async () => {
    const err = await failure(host.shell('for i in $(seq 1 50); do echo line$i; done; echo oops >&2; exit 3'));
    expect(err).toBeInstanceOf(CommandFailed);
    const cf = err as CommandFailed;
    expect(cf.exitCodeOfCommand).toBe(3);
    expect(cf.message).toBe('`for i in $(seq 1 50); do echo line$i; done; echo oops >&2; exit 3` exited with 3');
    const lines = cf.tail.split('\n');
    expect(lines).toHaveLength(30);
    expect(lines.at(-1)).toBe('oops');
    expect(lines[0]).toBe('line22');
    expect(cf.tail).not.toMatch(/^line1$/m);
  });

  it('with reject: false, a non-zero exit is returned', async () => {
    const r = await host.exec(['sh', '-c', 'echo out; echo err >&2; exit 4'], { reject: false });
    expect(r).toMatchObject({ exitCode: 4, stdout: 'out\n', stderr: 'err\n' });
    expect(r.all).toContain('out');
    expect(r.all).toContain('err');
  });

  it('a missing program says so', async () => {
    const err = await failure(host.exec(['zdd-no-such-program-xyz', '--version']));
    expect(err).toBeInstanceOf(CommandFailed);
    expect(err.message).toBe('`zdd-no-such-program-xyz --version` could not run: command not found');
  });

  it('a missing working folder is named, not reported as "command not found"', async () => {
    const missing = path.join(dir, 'no-such-folder');
    const err = await failure(host.exec(['true'], { cwd: missing }));
    expect(err.message).not.toContain('command not found');
    expect(err.message).toContain(`working folder not found: ${missing}`);
  });

  it('a timeout is named in the message', async () => {
    const err = await failure(host.exec(['sleep', '5'], { timeoutMs: 100 }));
    expect(err).toBeInstanceOf(CommandFailed);
    expect(err.message).toBe('`sleep 5` timed out after 100 ms');
  });

  it('tail() keeps the last lines without trailing blank lines', () => {
    expect(tail('a\nb\nc\n\n', 2)).toBe('b\nc');
  });
});

describe('PrintingHost (--dry-run)', () => {
  function printing() {
    const lines: string[] = [];
    // Typed as a Host: steps see it only through that interface.
    const ph: Host = new PrintingHost(new LocalHost(), (l) => lines.push(l));
    return { ph, lines };
  }

  it('prints "would ..." for every change and touches nothing on disk', async () => {
    const { ph, lines } = printing();
    await fs.writeFile(path.join(dir, 'keep.txt'), 'keep');
    const before = (await fs.readdir(dir)).sort();

    await ph.writeFile(path.join(dir, 'new.txt'), 'x');
    expect(await ph.createExclusive(path.join(dir, 'lock'), 'x')).toBe(true);
    await ph.mkdir(path.join(dir, 'releases'));
    await ph.remove(path.join(dir, 'keep.txt'));
    await ph.rename(path.join(dir, 'keep.txt'), path.join(dir, 'moved.txt'));
    await ph.symlinkAtomic('releases/r1', path.join(dir, 'current'));
    await ph.symlink('/x', path.join(dir, 'link'));
    await ph.upload(dir, path.join(dir, 'copy'));
    const r = await ph.exec(['touch', path.join(dir, 'touched')], { cwd: dir });
    const s = await ph.shell(`echo hi > ${path.join(dir, 'shelled')}`);
    const bg = ph.spawn(['node', 'server.js'], { cwd: dir });

    expect(lines).toHaveLength(11);
    for (const l of lines) expect(l).toMatch(/^would /);
    expect(lines).toContain(`would write ${path.join(dir, 'new.txt')}`);
    expect(lines).toContain(`would remove ${path.join(dir, 'keep.txt')}`);
    expect(lines).toContain(`would run: touch ${path.join(dir, 'touched')}  (in ${dir})`);
    expect(lines).toContain(`would point ${path.join(dir, 'current')} -> releases/r1 (symlink + rename)`);
    expect(r).toMatchObject({ exitCode: 0, simulated: true });
    expect(s.simulated).toBe(true);
    expect(bg.pid).toBeUndefined();
    await bg.stop();

    expect((await fs.readdir(dir)).sort()).toEqual(before);
    expect(await fs.readFile(path.join(dir, 'keep.txt'), 'utf8')).toBe('keep');
    expect(ph.live).toBe(false);
  });

  it('runs read-only commands and passes reads through to the real host', async () => {
    const { ph, lines } = printing();
    await fs.writeFile(path.join(dir, 'a.txt'), 'content');
    const r = await ph.exec(['cat', 'a.txt'], { cwd: dir, readOnly: true });
    expect(r.stdout).toBe('content');
    expect(r.simulated).toBeUndefined();
    const s = await ph.shell('printf %s "$(cat a.txt)"', { cwd: dir, readOnly: true });
    expect(s.stdout).toBe('content');
    expect(await ph.readFile(path.join(dir, 'a.txt'))).toBe('content');
    expect((await ph.stat(path.join(dir, 'a.txt')))?.type).toBe('file');
    expect(await ph.readdir(dir)).toEqual(['a.txt']);
    expect(lines).toEqual([]);
  });
});

describe('RecordingHost', () => {
  it('keeps an in-memory tree and a log of commands', async () => {
    const h = new RecordingHost();
    h.respond = (cmd) => (String(cmd).includes('fail') ? { exitCode: 1 } : { stdout: 'ok' });
    put(h, '/srv/shop/releases/r1/release.json', '{}');
    await h.symlinkAtomic('releases/r1', '/srv/shop/current');
    expect(await h.readdir('/srv/shop')).toEqual(['current', 'releases']);
    expect((await h.stat('/srv/shop/current'))?.type).toBe('dir');
    expect((await h.exec(['pm2', 'jlist'])).stdout).toBe('ok');
    await expect(h.shell('fail now')).rejects.toThrow('`fail now` exited with 1');
    expect((await h.shell('fail now', { reject: false })).exitCode).toBe(1);
    expect(h.commands()).toEqual(['pm2 jlist', 'fail now', 'fail now']);
    await h.remove('/srv/shop/releases');
    expect(h.files.size).toBe(0);
    expect(await h.readdir('/srv/shop')).toEqual(['current']);
  });
});
