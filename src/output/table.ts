/**
 * Plain text tables for read-only commands (`zdd releases`, `zdd status`), and the small formatters
 * their cells use. No colour and no box drawing: the output is the same in a terminal, a CI log and
 * a pipe to `grep`/`awk` (columns are separated by at least two spaces; empty cells show `-`).
 */

export interface Column {
  header: string;
  /** Numbers read better right-aligned. Default left. */
  align?: 'left' | 'right';
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** Width on screen: ANSI colour codes take no room. */
export function visibleWidth(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

function pad(s: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - visibleWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

/** One cell per column per row; a missing or empty cell prints as `-`. Lines have no trailing spaces. */
export function renderTable(columns: Column[], rows: Array<Array<string | undefined | null>>, gap = 2): string {
  const cells = rows.map((r) =>
    columns.map((_, i) => {
      const v = r[i];
      return v === undefined || v === null || v === '' ? '-' : String(v).replace(/[\r\n\t]+/g, ' ');
    }),
  );
  const widths = columns.map((c, i) => Math.max(visibleWidth(c.header), ...cells.map((r) => visibleWidth(r[i]!))));
  const sep = ' '.repeat(gap);
  const line = (r: string[]) =>
    r
      .map((v, i) => pad(v, widths[i]!, columns[i]!.align ?? 'left'))
      .join(sep)
      .replace(/\s+$/, '');
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** 1536 -> "1.5 KiB". Binary units, one decimal below 10, none above. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${bytes} B`;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** A span for humans: "850 ms", "42 s", "3 min 5 s", "2 h 4 min", "3 d 1 h". */
export function formatSpan(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** An ISO timestamp as "2026-11-27 10:30:00" (UTC, like release ids); the input when unparsable. */
export function formatTime(iso: string | undefined | null): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')
    .replace(/Z$/, '');
}
