import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { assertIdSyntax, selectTarget, type Candidate, type SelectInput } from '../../src/releases/select.js';

function rel(id: string, status: string, extra: Partial<Candidate> & { rolledBackAt?: string; error?: string } = {}): Candidate {
  const { rolledBackAt, error, ...rest } = extra;
  return {
    id,
    record: { ok: true, info: { status: status as 'ok', ...(rolledBackAt ? { rolledBackAt } : {}), ...(error ? { error } : {}) } },
    isDir: true,
    hasBackend: true,
    hasFrontend: true,
    ...rest,
  };
}

const A = '20260101100000';
const B = '20260102100000';
const B2 = '20260102100000-2';
const C = '20260103100000';
const D = '20260104100000';

function input(over: Partial<SelectInput> = {}): SelectInput {
  return {
    current: D,
    candidates: [rel(D, 'ok'), rel(C, 'ok'), rel(B2, 'ok'), rel(B, 'ok'), rel(A, 'ok')],
    force: false,
    needs: { backend: true, frontend: true },
    ...over,
  };
}

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('selectTarget without a name', () => {
  it('picks the newest ok release older than current', () => {
    expect(selectTarget(input()).id).toBe(C);
  });

  it('orders by id, suffixes after their timestamp', () => {
    expect(selectTarget(input({ current: C })).id).toBe(B2);
    expect(selectTarget(input({ current: B2 })).id).toBe(B);
  });

  it('ignores releases newer than current', () => {
    expect(selectTarget(input({ current: B })).id).toBe(A);
  });

  it('skips failed, building, corrupt and incomplete releases, and says why', () => {
    const sel = selectTarget(
      input({
        candidates: [
          rel(D, 'ok'),
          rel(C, 'failed'),
          rel(B2, 'building'),
          { ...rel(B, 'ok'), record: { ok: false, problem: 'its release.json is corrupt (Unexpected end)' } },
          rel(A, 'ok'),
          rel('20250101000000', 'ok', { hasBackend: false }),
        ],
      }),
    );
    expect(sel.id).toBe(A);
    expect(sel.notes.join('\n')).toMatch(/building/);
    expect(sel.notes.join('\n')).toMatch(/corrupt/);
  });

  it('skips a release missing a folder the config needs, not one it does not need', () => {
    const cands = [rel(D, 'ok'), rel(C, 'ok', { hasFrontend: false }), rel(B2, 'ok')];
    expect(selectTarget(input({ candidates: cands })).id).toBe(B2);
    expect(selectTarget(input({ candidates: cands, needs: { backend: true, frontend: false } })).id).toBe(C);
  });

  it('never picks a failed release implicitly, even with --force', () => {
    const e = usage(() => selectTarget(input({ force: true, candidates: [rel(D, 'ok'), rel(C, 'failed')] })));
    expect(e.message).toMatch(/no release marked ok is older than current/);
    expect(e.hint).toContain(C);
  });

  it('refuses when nothing is current', () => {
    expect(usage(() => selectTarget(input({ current: undefined }))).message).toMatch(/nothing is current/);
  });

  it('refuses when there is nothing older', () => {
    expect(usage(() => selectTarget(input({ current: A }))).message).toMatch(/no release marked ok/);
  });

  it('notes a target that was rolled back from before', () => {
    const sel = selectTarget(input({ candidates: [rel(D, 'ok'), rel(C, 'ok', { rolledBackAt: '2026-01-05T00:00:00Z' })] }));
    expect(sel.id).toBe(C);
    expect(sel.notes[0]).toMatch(/rolled back from/);
  });
});

describe('selectTarget with a name', () => {
  it('takes a full id', () => {
    expect(selectTarget(input({ requested: A })).id).toBe(A);
  });

  it('takes a unique prefix', () => {
    expect(selectTarget(input({ requested: '2026010110' })).id).toBe(A);
    expect(selectTarget(input({ requested: '20260102100000-' })).id).toBe(B2);
  });

  it('prefers an exact id over a longer id it prefixes', () => {
    expect(selectTarget(input({ requested: B })).id).toBe(B);
  });

  it('refuses an ambiguous prefix, listing the candidates', () => {
    const e = usage(() => selectTarget(input({ requested: '202601' })));
    expect(e.message).toMatch(/ambiguous/);
    for (const id of [A, B, B2, C, D]) expect(e.message).toContain(id);
    const e2 = usage(() => selectTarget(input({ requested: '2026010210' })));
    expect(e2.message).toContain(B);
    expect(e2.message).toContain(B2);
  });

  it('refuses an unknown id, listing the kept releases', () => {
    const e = usage(() => selectTarget(input({ requested: '2027' })));
    expect(e.message).toMatch(/no release matches "2027"/);
    expect(e.hint).toContain(A);
  });

  it('refuses ids with "..", "/" or other characters before looking at releases', () => {
    for (const bad of ['..', '../x', '../../etc', '2026/..', '20260101100000/', 'abc', '', ' 2026', '2026*', '-1']) {
      expect(usage(() => selectTarget(input({ requested: bad })))).toBeInstanceOf(UsageError);
    }
    expect(() => assertIdSyntax('..')).toThrow(/must not contain/);
    expect(() => assertIdSyntax('20260101100000-2')).not.toThrow();
  });

  it('refuses the release that is already current', () => {
    expect(usage(() => selectTarget(input({ requested: D }))).message).toMatch(/already current/);
    expect(usage(() => selectTarget(input({ requested: '20260104' }))).message).toMatch(/already current/);
  });

  it('refuses a failed release without --force and takes it with --force', () => {
    const cands = [rel(D, 'ok'), rel(C, 'failed', { error: 'verify: boom' })];
    const e = usage(() => selectTarget(input({ candidates: cands, requested: C })));
    expect(e.message).toMatch(/marked failed \(verify: boom\)/);
    expect(e.hint).toMatch(/--force/);
    const sel = selectTarget(input({ candidates: cands, requested: C, force: true }));
    expect(sel).toMatchObject({ id: C, forced: true });
  });

  it('refuses a missing/corrupt record or missing folders even with --force', () => {
    const corrupt: Candidate = { ...rel(C, 'ok'), record: { ok: false, problem: 'its release.json is corrupt (Unexpected token)' } };
    const missing: Candidate = { ...rel(B, 'ok'), record: { ok: false, problem: 'its release.json is missing' } };
    const cands = [rel(D, 'ok'), corrupt, missing, rel(B2, 'ok', { hasBackend: false }), rel(A, 'ok', { hasFrontend: false })];
    expect(usage(() => selectTarget(input({ candidates: cands, requested: C, force: true }))).message).toMatch(/corrupt/);
    expect(usage(() => selectTarget(input({ candidates: cands, requested: B, force: true }))).message).toMatch(/missing/);
    expect(usage(() => selectTarget(input({ candidates: cands, requested: B2, force: true }))).message).toMatch(/backend\/ folder is missing/);
    expect(usage(() => selectTarget(input({ candidates: cands, requested: A, force: true }))).message).toMatch(/frontend\/ folder is missing/);
    // A static-only project needs no backend/.
    expect(selectTarget(input({ candidates: cands, requested: B2, needs: { backend: false, frontend: true } })).id).toBe(B2);
  });

  it('refuses a release still building and one that is not a folder', () => {
    expect(usage(() => selectTarget(input({ requested: C, force: true, candidates: [rel(D, 'ok'), rel(C, 'building')] }))).message).toMatch(/building/);
    expect(usage(() => selectTarget(input({ requested: C, candidates: [rel(D, 'ok'), rel(C, 'ok', { isDir: false })] }))).message).toMatch(/not a folder/);
  });

  it('works with nothing current', () => {
    expect(selectTarget(input({ current: undefined, requested: C })).id).toBe(C);
  });
});
