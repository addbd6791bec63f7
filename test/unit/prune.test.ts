/**
 * releasesToPrune: which releases go so that `keep` remain (current included). Ids are passed
 * newest first, as listReleaseIds gives them.
 */
import { describe, expect, it } from 'vitest';
import { releasesToPrune } from '../../src/steps/prune.js';
import type { ReleaseInfo, ReleaseStatus } from '../../src/releases/release.js';

/** r1 is the oldest; ids come back newest first. */
const id = (n: number) => `2026112710${String(n).padStart(4, '0')}`;

/** `spec` oldest first: a status, or null for an unreadable release.json. */
function releases(spec: Array<ReleaseStatus | null>) {
  const ids = spec.map((_, i) => id(i + 1)).reverse();
  const infos = new Map<string, ReleaseInfo | undefined>();
  for (const [i, s] of spec.entries()) infos.set(id(i + 1), s === null ? undefined : ({ id: id(i + 1), status: s } as ReleaseInfo));
  return { ids, infos };
}

describe('releasesToPrune', () => {
  it('removes nothing when there are no more than `keep`', () => {
    const { ids, infos } = releases(['ok', 'ok', 'ok']);
    expect(releasesToPrune(ids, infos, id(3), 5)).toEqual([]);
    expect(releasesToPrune(ids, infos, id(3), 3)).toEqual([]);
    expect(releasesToPrune([], new Map(), undefined, 5)).toEqual([]);
  });

  it('keeps `keep` releases, current included, removing the oldest first', () => {
    const { ids, infos } = releases(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    const out = releasesToPrune(ids, infos, id(7), 5);
    expect(out).toEqual([id(1), id(2)]);
    expect(ids.length - out.length).toBe(5);
  });

  it('removes failed releases first, whatever their age', () => {
    const { ids, infos } = releases(['ok', 'ok', 'failed', 'ok', 'failed', 'ok', 'ok']);
    expect(releasesToPrune(ids, infos, id(7), 5)).toEqual([id(3), id(5)]);
    // With more to remove, the failed go first, then the oldest good ones.
    expect(releasesToPrune(ids, infos, id(7), 3)).toEqual([id(3), id(5), id(1), id(2)]);
  });

  it('treats a release with an unreadable release.json (or none) as removable first', () => {
    const { ids, infos } = releases(['ok', 'ok', 'ok', 'ok', 'ok', null, 'ok']);
    expect(releasesToPrune(ids, infos, id(7), 6)).toEqual([id(6)]);
    // Not in the map at all: the same.
    infos.delete(id(4));
    expect(releasesToPrune(ids, infos, id(7), 5)).toEqual([id(4), id(6)]);
  });

  it('never removes current, even when it is the oldest or marked failed', () => {
    const oldest = releases(['ok', 'ok', 'ok', 'ok']);
    expect(releasesToPrune(oldest.ids, oldest.infos, id(1), 2)).not.toContain(id(1));
    const failed = releases(['ok', 'ok', 'ok', 'failed']);
    expect(releasesToPrune(failed.ids, failed.infos, id(4), 2)).not.toContain(id(4));
  });

  it('never removes the newest good release before current (the rollback target), skipping failed ones', () => {
    const { ids, infos } = releases(['ok', 'ok', 'failed', 'failed', 'ok']);
    // Newest ok before r5 is r2 (r3 and r4 failed): it stays, r1 goes.
    expect(releasesToPrune(ids, infos, id(5), 2)).toEqual([id(3), id(4), id(1)]);
  });

  it('keeps the rollback target even when keep is 1 (then two remain)', () => {
    const { ids, infos } = releases(['ok', 'ok', 'ok']);
    expect(releasesToPrune(ids, infos, id(3), 1)).toEqual([id(1)]);
  });

  it('after a rollback, counts releases newer than current and may remove them', () => {
    // current is r3; r4..r7 are newer (r5 failed); r2 failed so the rollback target is r1.
    const { ids, infos } = releases(['ok', 'failed', 'ok', 'ok', 'failed', 'ok', 'ok']);
    const out = releasesToPrune(ids, infos, id(3), 3);
    expect(out).toEqual([id(2), id(5), id(4), id(6)]);
    const kept = ids.filter((i) => !out.includes(i));
    expect(kept).toEqual([id(7), id(3), id(1)]);
  });

  it('with no current, protects the newest good release', () => {
    const { ids, infos } = releases(['ok', 'ok', 'failed']);
    expect(releasesToPrune(ids, infos, undefined, 1)).toEqual([id(3), id(1)]);
  });
});
