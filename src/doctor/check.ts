/**
 * What every check of `zdd doctor` returns: one row, ✓ / ! / ✗, with a fix under a ✗ (and under a !
 * when there is one), plus the small helpers the rows share. Kept apart so the target, project and
 * app checks can each build rows without importing one another.
 */

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  ok: boolean;
  level: CheckLevel;
  detail: string;
  fix?: string;
}

export function row(name: string, level: CheckLevel, detail: string, fix?: string): Check {
  return { name, ok: level !== 'fail', level, detail, ...(fix ? { fix } : {}) };
}

/** Is `version` (`20.19.1`, `v22.3.0`) at least `min` ([20, 19, 0])? Missing parts count as 0. */
export function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version
    .replace(/^v/, '')
    .split('.')
    .map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/** The last `n` non-empty lines of a command's output, on one line (for a row's detail). */
export function lastLines(text: string, n = 3): string {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}
