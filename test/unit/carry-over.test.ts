/**
 * Carry-over: the kept releases' hashed files are hard-linked into a new release's frontend/.
 * Real files in a temp folder (hard links and inodes are the point), through LocalHost.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { frontendSchema, type ZddConfig } from '../../src/config/schema.js';
import { LocalHost } from '../../src/host/local.js';
import { PrintingHost } from '../../src/host/printing.js';
import { RecordingHost } from '../../src/host/recording.js';
import {
  MANIFEST,
  applyCarryOver,
  carryOverDirs,
  carrySources,
  describeCarry,
  normalizeDirs,
  planCarryOver,
  type FrontendManifest,
} from '../../src/steps/carry-over.js';
import { deployPaths, releaseRef } from '../../src/releases/paths.js';
import { releasesToPrune } from '../../src/steps/prune.js';
import { listReleaseIds, readRelease, type ReleaseInfo, type ReleaseStatus } from '../../src/releases/release.js';
import type { Paths } from '../../src/core/types.js';
import { put } from '../helpers/steps.js';

const id = (n: number) => `2026112710${String(n).padStart(4, '0')}`;

let root: string;
let paths: Paths;
const host = new LocalHost();

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'zdd-carry-'));
  paths = deployPaths(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A release on disk: release.json, frontend files, optionally its frontend-files.json. */
async function release(n: number, status: ReleaseStatus, files: Record<string, string>, extra: Partial<ReleaseInfo> & { manifest?: FrontendManifest } = {}) {
  const dir = path.join(paths.releases, id(n));
  await mkdir(dir, { recursive: true });
  const { manifest, ...info } = extra;
  await writeFile(path.join(dir, 'release.json'), JSON.stringify({ id: id(n), status, ...info }));
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, 'frontend', rel)), { recursive: true });
    await writeFile(path.join(dir, 'frontend', rel), content);
  }
  if (manifest) await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest));
  return releaseRef(paths, id(n));
}

const fe = (n: number, rel: string) => path.join(paths.releases, id(n), 'frontend', rel);
const ino = async (p: string) => (await stat(p)).ino;

async function carry(n: number, dirs = ['assets'], keep = 5) {
  const ref = releaseRef(paths, id(n));
  const plan = await planCarryOver(host, paths, ref, dirs, keep);
  return { plan, result: await applyCarryOver(host, ref, plan) };
}

describe('carry-over picks the right files', () => {
  it("hard-links the kept releases' assets the new build lacks, and nothing else", async () => {
    await release(1, 'ok', {
      'index.html': 'v1',
      'robots.txt': 'r1',
      'assets/index-aaa.js': 'entry v1',
      'assets/Reports-111.js': 'lazy v1',
      'assets/react-zzz.js': 'react',
    });
    await release(2, 'ok', { 'index.html': 'v2', 'assets/index-bbb.js': 'entry v2', 'assets/Reports-222.js': 'lazy v2', 'assets/react-zzz.js': 'react' });
    await release(3, 'building', { 'index.html': 'v3', 'assets/index-ccc.js': 'entry v3', 'assets/Reports-333.js': 'lazy v3', 'assets/react-zzz.js': 'react' });

    const { plan, result } = await carry(3);
    expect(plan.sources).toEqual([id(2), id(1)]);
    expect(plan.items.map((i) => i.rel).sort()).toEqual(['assets/Reports-111.js', 'assets/Reports-222.js', 'assets/index-aaa.js', 'assets/index-bbb.js']);
    expect(result).toMatchObject({ files: 4, copied: 0, fromReleases: [id(2), id(1)] });
    expect(result.bytes).toBe('lazy v1'.length + 'lazy v2'.length + 'entry v1'.length + 'entry v2'.length);
    expect(describeCarry(result)).toMatch(/^carried 4 files \(\d+ B\) from 2 releases as hard links \(no extra disk space\)$/);

    // Hard links: the same inode as the source, so no bytes are duplicated.
    expect(await ino(fe(3, 'assets/Reports-111.js'))).toBe(await ino(fe(1, 'assets/Reports-111.js')));
    expect((await stat(fe(3, 'assets/Reports-111.js'))).nlink).toBe(2);
    // Only the carry-over folders: the old index.html and robots.txt stay where they were.
    expect(await readFile(fe(3, 'index.html'), 'utf8')).toBe('v3');
    expect(await host.stat(fe(3, 'robots.txt'))).toBeUndefined();

    const m = JSON.parse(await readFile(path.join(paths.releases, id(3), MANIFEST), 'utf8')) as FrontendManifest;
    expect(m.own).toEqual(['assets/Reports-333.js', 'assets/index-ccc.js', 'assets/react-zzz.js']);
    expect(m.carried).toEqual({ 'assets/index-bbb.js': id(2), 'assets/Reports-222.js': id(2), 'assets/index-aaa.js': id(1), 'assets/Reports-111.js': id(1) });
  });

  it('carries only what a source built itself, not what it carried (no endless ride-along)', async () => {
    // r1 is gone (pruned); r2 still holds a hard link to its chunk, recorded as carried.
    await release(
      2,
      'ok',
      { 'assets/b.js': 'b', 'assets/a-from-r1.js': 'a' },
      { manifest: { own: ['assets/b.js'], carried: { 'assets/a-from-r1.js': id(1) } } },
    );
    await release(3, 'building', { 'assets/c.js': 'c' });
    const { plan } = await carry(3);
    expect(plan.items.map((i) => i.rel)).toEqual(['assets/b.js']);
  });

  it('treats every file of a release without a record (deployed before carry-over) as its own', async () => {
    await release(1, 'ok', { 'assets/a.js': 'a', 'assets/deep/x.css': 'x' });
    await release(2, 'building', {});
    const { plan } = await carry(2);
    expect(plan.items.map((i) => i.rel).sort()).toEqual(['assets/a.js', 'assets/deep/x.css']);
  });

  it('follows frontend.carryOver folders; [] turns it off', async () => {
    await release(1, 'ok', { 'assets/a.js': 'a', 'static/js/s.js': 's', 'fonts/f.woff2': 'f' });
    await release(2, 'building', {});
    const { plan } = await carry(2, ['static/js', 'fonts']);
    expect(plan.items.map((i) => i.rel).sort()).toEqual(['fonts/f.woff2', 'static/js/s.js']);
    expect((await planCarryOver(host, paths, releaseRef(paths, id(2)), [], 5)).items).toEqual([]);

    // The schema's default, as a loaded config has it.
    const cfg = (frontend: Record<string, unknown> | undefined) => ({ frontend: frontend && frontendSchema.parse(frontend) }) as unknown as ZddConfig;
    expect(carryOverDirs(cfg({ root: '/x' }))).toEqual(['assets']);
    expect(carryOverDirs(cfg({ root: '/x', carryOver: [] }))).toEqual([]);
    expect(carryOverDirs(cfg(undefined))).toEqual([]);
    expect(normalizeDirs(['./assets/', 'assets', '../etc', '/abs', '.', 'static\\js'])).toEqual(['assets', 'static/js']);
  });
});

describe('carry-over never overwrites', () => {
  it("keeps the new release's own file of the same name (content and inode)", async () => {
    await release(1, 'ok', { 'assets/same.js': 'OLD', 'assets/same.js.gz': 'OLD-gz', 'assets/only-old.js': 'o', 'assets/only-old.js.gz': 'o-gz' });
    await release(2, 'building', { 'assets/same.js': 'NEW' });
    const before = await ino(fe(2, 'assets/same.js'));
    const { plan, result } = await carry(2);
    expect(await readFile(fe(2, 'assets/same.js'), 'utf8')).toBe('NEW');
    expect(await ino(fe(2, 'assets/same.js'))).toBe(before);
    expect(plan.alreadyThere).toBe(1);
    // No foreign .gz beside an own file (it would be served in its place), but an old file's own .gz comes along.
    expect(await host.stat(fe(2, 'assets/same.js.gz'))).toBeUndefined();
    expect(plan.items.map((i) => i.rel).sort()).toEqual(['assets/only-old.js', 'assets/only-old.js.gz']);
    expect(result.files).toBe(2);
  });

  it('the newest kept release wins when two offer the same name', async () => {
    await release(1, 'ok', { 'assets/x.js': 'from r1' });
    await release(2, 'ok', { 'assets/x.js': 'from r2' });
    await release(3, 'building', {});
    await carry(3);
    expect(await readFile(fe(3, 'assets/x.js'), 'utf8')).toBe('from r2');
  });

  it('a name taken between plan and link is left alone; a repeat run carries nothing new', async () => {
    await release(1, 'ok', { 'assets/a.js': 'a', 'assets/b.js': 'b' });
    const ref = await release(2, 'building', { 'assets/own.js': 'own' });
    const plan = await planCarryOver(host, paths, ref, ['assets'], 5);
    await writeFile(fe(2, 'assets/a.js'), 'raced');
    const r = await applyCarryOver(host, ref, plan);
    expect(r).toMatchObject({ files: 1, skipped: 1 });
    expect(await readFile(fe(2, 'assets/a.js'), 'utf8')).toBe('raced');

    const again = await carry(2);
    expect(again.result.files).toBe(0);
    const m = JSON.parse(await readFile(path.join(ref.dir, MANIFEST), 'utf8')) as FrontendManifest;
    expect(m.carried).toEqual({ 'assets/b.js': id(1) });
    expect(m.own).not.toContain('assets/b.js');
  });

  it('--dry-run links nothing and writes nothing', async () => {
    await release(1, 'ok', { 'assets/a.js': 'a' });
    const ref = await release(2, 'building', {});
    const lines: string[] = [];
    const dry = new PrintingHost(host, (l) => lines.push(l));
    const plan = await planCarryOver(dry, paths, ref, ['assets'], 5);
    await applyCarryOver(dry, ref, plan);
    expect(await host.stat(fe(2, 'assets/a.js'))).toBeUndefined();
    expect(await host.stat(path.join(ref.dir, MANIFEST))).toBeUndefined();
    expect(lines.some((l) => l.startsWith('would hard-link') && l.includes('assets/a.js'))).toBe(true);
  });
});

describe('carry-over respects pruning', () => {
  const infos = (spec: Array<[number, ReleaseStatus, Partial<ReleaseInfo>?]>) =>
    new Map(spec.map(([n, s, x]) => [id(n), { id: id(n), status: s, ...x } as ReleaseInfo]));

  it('carries only from the releases prune keeps once the new one is current', () => {
    const ids = [5, 4, 3, 2, 1].map(id);
    const m = infos([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
      [4, 'ok'],
    ]);
    // keep 3 = the new one + the two newest: r1 and r2 are about to be pruned.
    expect(carrySources(ids, m, id(5), 3)).toEqual([id(4), id(3)]);
    expect(carrySources(ids, m, id(5), 5)).toEqual([id(4), id(3), id(2), id(1)]);
    // Prune never removes the newest good release before current (the rollback target), even with keep 1.
    expect(carrySources(ids, m, id(5), 1)).toEqual([id(4)]);
  });

  it('skips failed releases that never went live, and counts them as pruned first', () => {
    const ids = [5, 4, 3, 2, 1].map(id);
    const m = infos([
      [1, 'ok'],
      [2, 'failed', { wentLiveAt: '2026-11-27T10:00:00Z' }],
      [3, 'failed'],
      [4, 'ok'],
    ]);
    expect(carrySources(ids, m, id(5), 5)).toEqual([id(4), id(2), id(1)]);
    // keep 4: prune takes a failed one (the oldest, r2) before any good one, so r1 stays a source.
    expect(carrySources(ids, m, id(5), 4)).toEqual([id(4), id(1)]);
    expect(carrySources(ids, m, id(5), 3)).toEqual([id(4), id(1)]);
    expect(carrySources(ids, m, id(5), 2)).toEqual([id(4)]);
  });

  it('agrees with what prune keeps, whatever the mix', () => {
    const statuses: ReleaseStatus[] = ['ok', 'failed', 'ok', 'ok', 'failed', 'ok', 'ok'];
    for (let keep = 1; keep <= 8; keep++) {
      const ids = statuses.map((_, i) => id(i + 1)).reverse();
      const m = infos(statuses.map((s, i) => [i + 1, s] as [number, ReleaseStatus]));
      const newId = id(8);
      const all = [newId, ...ids];
      const withNew = new Map(m).set(newId, { id: newId, status: 'ok' } as ReleaseInfo);
      const kept = all.filter((x) => !releasesToPrune(all, withNew, newId, keep).includes(x));
      const sources = carrySources(ids, m, newId, keep);
      for (const s of sources) expect(kept).toContain(s);
      expect(sources).toEqual(kept.filter((x) => x !== newId && m.get(x)?.status === 'ok'));
    }
  });

  it('pruning a source release removes nothing the new release needs (hard links)', async () => {
    await release(1, 'ok', { 'assets/index-aaa.js': 'entry v1', 'assets/Reports-111.js': 'lazy v1' });
    await release(2, 'ok', { 'assets/index-bbb.js': 'entry v2' });
    await release(3, 'building', { 'assets/index-ccc.js': 'entry v3' });
    await carry(3);
    await writeFile(path.join(paths.releases, id(3), 'release.json'), JSON.stringify({ id: id(3), status: 'ok' }));
    await host.symlinkAtomic(`releases/${id(3)}`, paths.current);

    // What the prune step does with keepReleases 2.
    const ids = await listReleaseIds(host, paths);
    const m = new Map<string, ReleaseInfo | undefined>();
    for (const x of ids) m.set(x, await readRelease(host, paths, x));
    const gone = releasesToPrune(ids, m, id(3), 2);
    expect(gone).toEqual([id(1)]);
    for (const x of gone) await host.remove(path.join(paths.releases, x));

    expect(await host.stat(path.join(paths.releases, id(1)))).toBeUndefined();
    expect(await readFile(fe(3, 'assets/Reports-111.js'), 'utf8')).toBe('lazy v1');
    expect(await readFile(fe(3, 'assets/index-aaa.js'), 'utf8')).toBe('entry v1');
    expect((await stat(fe(3, 'assets/Reports-111.js'))).nlink).toBe(1);

    // The next release no longer carries r1's files (r1 is gone), but still r2's and r3's own.
    await release(4, 'building', { 'assets/index-ddd.js': 'entry v4' });
    const { plan } = await carry(4, ['assets'], 2);
    expect(plan.sources).toEqual([id(3)]);
    expect(plan.items.map((i) => i.rel)).toEqual(['assets/index-ccc.js']);
  });
});

describe('host.link', () => {
  it('LocalHost: hard link, parents created, never over an existing name', async () => {
    const a = path.join(root, 'a.txt');
    await writeFile(a, 'A');
    expect(await host.link(a, path.join(root, 'deep', 'er', 'b.txt'))).toBe('linked');
    expect(await ino(path.join(root, 'deep', 'er', 'b.txt'))).toBe(await ino(a));
    await writeFile(path.join(root, 'c.txt'), 'C');
    expect(await host.link(a, path.join(root, 'c.txt'))).toBe('exists');
    expect(await readFile(path.join(root, 'c.txt'), 'utf8')).toBe('C');
  });

  it('RecordingHost: copies content, never over an existing name', async () => {
    const h = new RecordingHost();
    put(h, '/r/a', 'A');
    put(h, '/r/b', 'B');
    expect(await h.link('/r/a', '/r/x/c')).toBe('linked');
    expect(await h.readFile('/r/x/c')).toBe('A');
    expect(await h.link('/r/a', '/r/b')).toBe('exists');
    expect(await h.readFile('/r/b')).toBe('B');
    expect((await h.listFiles('/r')).map((f) => f.path)).toEqual(['a', 'b', 'x/c']);
  });
});
