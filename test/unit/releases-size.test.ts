/**
 * `zdd releases`: what each release adds to the disk, hard links counted once, from the inodes
 * listFiles gives (RecordingHost: linkTree shares its source's inodes, a write makes a new one).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { releaseSizes, releasesTable, rowOf } from '../../src/commands/releases.js';
import { RecordingHost } from '../../src/host/recording.js';

describe('releaseSizes', () => {
  it('a release hard-linked from an older one adds only what it changed; the oldest adds its whole size', async () => {
    const host = new RecordingHost();
    const r1 = '/srv/shop/releases/1';
    await host.mkdir(path.join(r1, 'backend', 'node_modules', 'big'));
    await host.writeFile(path.join(r1, 'backend', 'node_modules', 'big', 'index.js'), 'x'.repeat(10_000));
    await host.writeFile(path.join(r1, 'backend', 'server.js'), 'v1');
    await host.linkTree(r1, '/srv/shop/releases/2');
    await host.writeFile('/srv/shop/releases/2/backend/server.js', 'v2 longer');
    // A hard link inside one release counts once in its size too.
    await host.link(path.join(r1, 'backend', 'server.js'), path.join(r1, 'backend', 'server-copy.js'));
    const [newest, oldest] = await releaseSizes(host, ['/srv/shop/releases/2', r1]);
    expect(oldest).toEqual({ size: 10_002, adds: 10_002 });
    expect(newest).toEqual({ size: 10_009, adds: 9 });
  });

  it('an unreadable or missing release counts 0', async () => {
    expect(await releaseSizes(new RecordingHost(), ['/nowhere'])).toEqual([{ size: 0, adds: 0 }]);
  });

  it('the table shows SIZE and ADDS (VS OLDER); --json keeps sizeBytes and adds addsBytes', () => {
    const row = rowOf({ id: '20261127100000', record: { ok: true, info: { status: 'ok' } } } as never, undefined, 56_623_104, 40_960);
    expect(row).toMatchObject({ sizeBytes: 56_623_104, addsBytes: 40_960 });
    const table = releasesTable([row]);
    expect(table.split('\n')[0]).toMatch(/SIZE\s+ADDS \(VS OLDER\)$/);
    expect(table.split('\n')[1]).toMatch(/54 MiB\s+40 KiB$/);
  });
});
