/**
 * What a release must not own and what it must bring: state that has to outlive a release (a
 * `data/` folder, SQLite files, `uploads/`) for `shared`, and files the backend reads from outside its
 * folder (`../package.json`, `path.join(__dirname, '..', 'CHANGELOG.md')`) for `backend.include`.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isDir } from '../core/fs-checks.js';
import { posix, readText } from './read.js';
import type { SourceSet } from './sources.js';

const STATE_DIRS = ['data', 'uploads', 'storage'];
const DB_FILE = /\.(db|sqlite3?)$/;
/** What SQLite and an upload folder leave behind; anything else in the folder may be seed data the app ships. */
const STATE_LEFTOVER = /^(\.gitkeep|\.keep|\.gitignore|README(\.md)?|.*\.(db|sqlite3?)(-journal|-wal|-shm)?)$/i;

export interface SharedSuggestion {
  dirs: string[];
  files: string[];
  /** The dirs are written active: each is absent or holds only state (shared.ts creates <deployTo>/shared/<dir>). Files never are: a missing shared file fails the deploy. */
  active: boolean;
  from: string[];
  notes: string[];
}

interface PathUse {
  /** Relative to the backend root (may start with ../). */
  path: string;
  at: string;
}

/** Paths the source names: `path.join(__dirname, '..', 'x')`, `new URL('../x', import.meta.url)`, plain `'./data/app.db'`, `dest: 'uploads/'`. */
/** `rel`: the backend's folder relative to the project, for `at` (`server/db.js:5`). */
export function pathUses(rootAbs: string, sources: SourceSet, rel = '.'): PathUse[] {
  const out: PathUse[] = [];
  for (const f of sources.files) {
    const text = readText(path.join(rootAbs, f)) ?? '';
    const dir = path.posix.dirname(f);
    const at = (i: number) => `${posix(path.posix.join(rel, f))}:${text.slice(0, i).split('\n').length}`;
    // The parts of a path.join are one path: their strings are not read again as plain ones below.
    // Its base is __dirname, a variable bound to an earlier path.join in the file
    // (`const dir = path.join(__dirname, 'data')` then `path.join(dir, 'tasks.db')`), or a string.
    const joined: [number, number][] = [];
    const bound = new Map<string, string>();
    const JOIN =
      /(?:\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*)?path\.(?:join|resolve)\(\s*(__dirname|import\.meta\.dirname|[A-Za-z_$][\w$]*|['"`][^'"`$]+['"`])((?:\s*,\s*['"`][^'"`$]+['"`])*)\s*\)/g;
    for (const m of text.matchAll(JOIN)) {
      joined.push([m.index, m.index + m[0].length]);
      const head = m[2]!;
      const base = /^['"`]/.test(head) ? head.slice(1, -1) : head === '__dirname' || head === 'import.meta.dirname' ? dir : bound.get(head);
      if (base === undefined) continue;
      const parts = [...m[3]!.matchAll(/['"`]([^'"`]+)['"`]/g)].map((x) => x[1]!);
      const p = posix(path.posix.join(base, ...parts));
      if (m[1]) bound.set(m[1], p);
      out.push({ path: p, at: at(m.index) });
    }
    const inJoin = (i: number) => joined.some(([a, b]) => i >= a && i < b);
    for (const m of text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)) {
      out.push({ path: posix(path.posix.join(dir, m[1]!)), at: at(m.index) });
    }
    // Plain strings are relative to the working folder, which PM2 sets to the release's backend folder.
    for (const m of text.matchAll(/['"`]((?:\.\/)?(?:data|uploads|storage)\/[\w./-]*|(?:\.\/)?[\w-]+\.(?:db|sqlite3?))['"`]/g)) {
      if (!inJoin(m.index)) out.push({ path: posix(m[1]!), at: at(m.index) });
    }
    for (const m of text.matchAll(/\b(?:dest|destination|uploadDir|storagePath|dbPath|filename)\s*:\s*['"`]((?:\.\/)?[\w./-]+)['"`]/g)) {
      out.push({ path: posix(m[1]!), at: at(m.index) });
    }
    for (const m of text.matchAll(/\b(?:readFileSync|readFile|existsSync)\(\s*['"](\.\.\/[^'"]+)['"]/g)) {
      out.push({ path: posix(m[1]!), at: at(m.index) });
    }
  }
  return out;
}

export function suggestShared(rootAbs: string, uses: PathUse[]): SharedSuggestion {
  const dirs = new Set<string>();
  const files = new Set<string>();
  const from: string[] = [];
  for (const d of STATE_DIRS) {
    if (isDir(path.join(rootAbs, d))) {
      dirs.add(d);
      from.push(`${d}/ folder`);
    }
  }
  let names: string[] = [];
  try {
    names = readdirSync(rootAbs);
  } catch {
    /* unreadable */
  }
  for (const n of names.filter((x) => DB_FILE.test(x))) {
    files.add(n);
    from.push(`${n} in the folder`);
  }
  for (const u of uses) {
    if (u.path.startsWith('..') || path.posix.isAbsolute(u.path)) continue;
    const first = u.path.split('/')[0]!;
    const isState = STATE_DIRS.includes(first) || DB_FILE.test(u.path);
    if (!isState) continue;
    if (u.path.includes('/') || STATE_DIRS.includes(first)) {
      if (!dirs.has(first)) from.push(`${first}/ in ${u.at}`);
      dirs.add(first);
    } else {
      if (!files.has(first)) from.push(`${first} in ${u.at}`);
      files.add(first);
    }
  }
  for (const d of dirs) for (const f of [...files]) if (f.startsWith(`${d}/`)) files.delete(f);
  const notes: string[] = [];
  let active = dirs.size > 0;
  for (const d of dirs) {
    let inside: string[] = [];
    try {
      inside = readdirSync(path.join(rootAbs, d));
    } catch {
      /* absent: created in <deployTo>/shared at deploy */
    }
    const seed = inside.filter((n) => !STATE_LEFTOVER.test(n));
    if (seed.length) {
      active = false;
      notes.push(
        `${d}/ holds ${seed.slice(0, 3).join(', ')}${seed.length > 3 ? ', …' : ''}: a shared ${d}/ replaces it with <deployTo>/shared/${d}; copy them there, then uncomment`,
      );
    }
  }
  for (const f of files)
    notes.push(`shared.files needs <deployTo>/shared/${f} before the first deploy (an empty file is a valid new SQLite database): touch it, then uncomment`);
  return { dirs: [...dirs], files: [...files], active, from, notes };
}

/** Files outside the backend folder that it reads or imports, relative to the backend root (`../package.json`). */
export function suggestInclude(
  projectDir: string,
  rootAbs: string,
  sources: SourceSet,
  uses: PathUse[],
  avoid: string[],
): { paths: string[]; from: string[]; notes: string[] } {
  const paths: string[] = [];
  const from: string[] = [];
  const notes: string[] = [];
  // Where it is read, relative to the project folder like every other "from".
  const where = (at: string) => posix(path.join(path.relative(projectDir, rootAbs), at));
  const candidates = [...sources.outside.map((o) => ({ path: o.path, at: where(`${o.from}:${o.line}`) })), ...uses.filter((u) => u.path.startsWith('../'))];
  for (const c of candidates) {
    const abs = path.resolve(rootAbs, c.path);
    const inProject = !path.relative(projectDir, abs).startsWith('..');
    if (!inProject || !existsSync(abs) || c.path.includes('node_modules') || paths.includes(c.path)) continue;
    const hitAvoid = avoid.find((a) => abs === a || abs.startsWith(`${a}${path.sep}`));
    if (hitAvoid) {
      notes.push(`${c.at} reads ${c.path}, in the frontend's folder: the release has the frontend's build at frontend/, not there`);
      continue;
    }
    paths.push(c.path);
    from.push(`${c.path} (${c.at})`);
  }
  return { paths, from, notes };
}
