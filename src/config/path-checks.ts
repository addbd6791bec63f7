/**
 * Checks of paths beyond the schema: `shared.*` (inside <deployTo>/shared), `backend.include` (files
 * from outside backend.root, copied next to the release's backend folder) and `backend.workspace`
 * (the workspace root a member backend lives in). One `key: what is wrong` line per problem.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { brief } from './messages.js';
import { isDir, isFile } from '../core/fs-checks.js';

/** Names zdd writes at the top of a release; an included file may not take them. */
const RELEASE_NAMES = ['backend', 'frontend', 'workspace', 'release.json', 'frontend-files.json', 'reload-safe.cjs']; // the last from pm2/reload-safety.ts

/** `a/../../b` escapes; `a/../b` does not. */
export function escapes(p: string): boolean {
  const n = path.posix.normalize(p.replaceAll('\\', '/'));
  return n === '..' || n.startsWith('../');
}

/** shared.files / shared.dirs: relative paths inside <deployTo>/shared. */
export function sharedProblems(raw: Record<string, unknown>, ok: (key: string) => boolean): string[] {
  const out: string[] = [];
  if (isObj(raw.shared)) {
    for (const kind of ['files', 'dirs'] as const) {
      const list = raw.shared[kind];
      if (!Array.isArray(list)) continue;
      list.forEach((entry, i) => {
        const key = `shared.${kind}[${i}]`;
        if (typeof entry !== 'string' || entry === '' || !ok(key)) return;
        if (path.posix.isAbsolute(entry) || path.win32.isAbsolute(entry)) {
          out.push(`${key}: expected a path relative to <deployTo>/shared, got ${brief(entry)}`);
        } else if (escapes(entry)) {
          out.push(`${key}: must stay inside <deployTo>/shared, got ${brief(entry)} (".." leaves it)`);
        } else if (path.posix.normalize(entry) === '.' || path.posix.normalize(entry) === './') {
          out.push(`${key}: expected a path inside <deployTo>/shared, got ${brief(entry)} (the shared folder itself)`);
        }
      });
    }
  }

  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const norm = (p: string) => path.posix.normalize(p.replaceAll('\\', '/')).replace(/\/+$/, '');

/** Does the folder hold a workspace (package.json `workspaces`, or pnpm-workspace.yaml)? */
function isWorkspaceRoot(dir: string): boolean {
  if (isFile(path.join(dir, 'pnpm-workspace.yaml'))) return true;
  try {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { workspaces?: unknown };
    return pkg.workspaces !== undefined;
  } catch {
    return false;
  }
}

/**
 * Where an include lands, relative to the release (or to its workspace copy): an error text when it
 * may not land there, else undefined.
 */
function includeProblem(entry: string, member: string | undefined): string | undefined {
  if (path.posix.isAbsolute(entry) || path.win32.isAbsolute(entry)) return `expected a path relative to backend.root, got ${brief(entry)}`;
  if (member !== undefined) {
    const dest = norm(path.posix.join(member, entry));
    if (dest === '..' || dest.startsWith('../')) return `must stay inside backend.workspace, got ${brief(entry)} (it would leave the release's workspace copy)`;
    if (dest === '.' || dest === member || dest.startsWith(`${member}/`))
      return `expected a path outside backend.root (which the release copies already), got ${brief(entry)}`;
    if (dest.split('/').includes('node_modules')) return `may not be in node_modules (the install makes it), got ${brief(entry)}`;
    return undefined;
  }
  const dest = norm(path.posix.join('backend', entry));
  if (dest === '..' || dest.startsWith('../') || dest === '.') return `must stay inside the release folder, got ${brief(entry)} (releases/<id>/${dest})`;
  const top = dest.split('/')[0]!;
  if (top === 'backend') return `expected a path outside backend.root (which the release copies already), got ${brief(entry)}`;
  if (RELEASE_NAMES.includes(top)) return `would land on the release's own ${top}${top.includes('.') ? '' : '/'}, got ${brief(entry)}`;
  return undefined;
}

export function backendPathProblems(raw: Record<string, unknown>, projectDir: string, ok: (key: string) => boolean, checkSources: boolean): string[] {
  const b = raw.backend;
  if (!isObj(b)) return [];
  const out: string[] = [];
  const root = path.resolve(projectDir, typeof b.root === 'string' && b.root !== '' ? b.root : 'backend');
  let member: string | undefined;
  if (typeof b.workspace === 'string' && b.workspace !== '' && ok('backend.workspace')) {
    const ws = path.resolve(projectDir, b.workspace);
    const rel = path.relative(ws, root).split(path.sep).join('/');
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      out.push(`backend.workspace: backend.root (${root}) must be a member folder inside the workspace root ${ws}`);
    } else {
      member = rel;
      if (checkSources && !isDir(ws)) out.push(`backend.workspace: folder not found: ${ws}`);
      else if (checkSources && !isWorkspaceRoot(ws)) {
        out.push(`backend.workspace: ${ws} is no workspace root (its package.json has no "workspaces" and there is no pnpm-workspace.yaml)`);
      }
    }
  }
  if (Array.isArray(b.include) && ok('backend.include')) {
    b.include.forEach((entry, i) => {
      const key = `backend.include[${i}]`;
      if (typeof entry !== 'string' || entry === '' || !ok(key)) return;
      const problem = includeProblem(entry, member);
      if (problem) out.push(`${key}: ${problem}`);
      else if (checkSources && !existsSync(path.resolve(root, entry))) out.push(`${key}: not found: ${path.resolve(root, entry)}`);
    });
  }
  return out;
}
