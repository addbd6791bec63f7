import { describe, expect, it } from 'vitest';
import { formatBytes, formatSpan, formatTime, renderTable, visibleWidth } from '../../src/output/table.js';

describe('renderTable', () => {
  it('aligns columns, pads with two spaces and leaves no trailing space', () => {
    const out = renderTable(
      [{ header: 'ID' }, { header: 'STATUS' }, { header: 'SIZE', align: 'right' }],
      [
        ['20260101100000', 'current', '1.5 MiB'],
        ['20260102100000-2', 'ok', '12 KiB'],
      ],
    );
    expect(out.split('\n')).toEqual(['ID                STATUS      SIZE', '20260101100000    current  1.5 MiB', '20260102100000-2  ok        12 KiB']);
  });

  it('prints empty cells as "-" and flattens newlines', () => {
    const out = renderTable([{ header: 'A' }, { header: 'B' }, { header: 'C' }], [[null, '', 'x\ny'], ['1']]);
    expect(out.split('\n')).toEqual(['A  B  C', '-  -  x y', '1  -  -']);
    expect(out.split('\n').every((l) => !/\s$/.test(l))).toBe(true);
  });

  it('renders only the header when there are no rows', () => {
    expect(renderTable([{ header: 'ID' }, { header: 'STATUS' }], [])).toBe('ID  STATUS');
  });

  it('ignores colour codes when measuring', () => {
    expect(visibleWidth('\u001b[32mok\u001b[39m')).toBe(2);
    const out = renderTable(
      [{ header: 'S' }, { header: 'N' }],
      [
        ['\u001b[32mok\u001b[39m', '1'],
        ['failed', '2'],
      ],
    );
    expect(out.split('\n')[1]).toBe('\u001b[32mok\u001b[39m      1');
  });
});

describe('formatters', () => {
  it('formatBytes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MiB');
    expect(formatBytes(-1)).toBe('-');
  });

  it('formatSpan', () => {
    expect(formatSpan(850)).toBe('850 ms');
    expect(formatSpan(4200)).toBe('4.2 s');
    expect(formatSpan(42_000)).toBe('42 s');
    expect(formatSpan(185_000)).toBe('3 min 5 s');
    expect(formatSpan(120_000)).toBe('2 min');
    expect(formatSpan((2 * 60 + 4) * 60_000)).toBe('2 h 4 min');
    expect(formatSpan((3 * 24 + 1) * 3_600_000)).toBe('3 d 1 h');
  });

  it('formatTime', () => {
    expect(formatTime('2026-11-27T10:30:00.123Z')).toBe('2026-11-27 10:30:00');
    expect(formatTime(undefined)).toBe('-');
    expect(formatTime('not a date')).toBe('not a date');
  });
});
