/**
 * Choosing the release a rollback goes to. `selectTarget` is pure (plain objects in, a choice or a
 * UsageError out) so every rule is unit-tested; `loadCandidates` gathers those objects from a host.
 *
 * Rules:
 * - a named release: a full id or a unique prefix; an exact id wins over a longer id it prefixes
 *   (`20261127103000` vs `20261127103000-2`); an id with `/`, `..` or anything outside the id
 *   charset is refused before anything is read;
 * - no name: the newest release older than `current` (by id order) whose record says `ok` and that
 *   can be served (record readable, folders present);
 * - refused with the reason: the release already current, a release marked `failed` (unless
 *   `force`), one still `building` (a deploy in progress or abandoned), one whose release.json is
 *   missing or corrupt, one missing the backend/ or frontend/ folder the config needs. `force`
 *   overrides the `failed` mark only.
 */
import type { ZddConfig } from '../config/schema.js';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Host } from '../host/types.js';
import type { Paths } from '../core/types.js';
import { RELEASE_ID } from './paths.js';
import { compareIds, listReleaseIds, parseRelease, releaseJsonPath, type ReleaseInfo } from './release.js';

/** What zdd knows about one folder under releases/, enough to decide whether it can be served. */
export interface Candidate {
  id: string;
  /** The parsed release.json, or why it could not be read. */
  record: { ok: true; info: Pick<ReleaseInfo, 'status'> & Partial<ReleaseInfo> } | { ok: false; problem: string };
  /** releases/<id> is a real folder (not a file, not a symlink pointing elsewhere). */
  isDir: boolean;
  hasBackend: boolean;
  hasFrontend: boolean;
}

export interface SelectInput {
  /** The id or prefix the user named; undefined for "the previous good one". */
  requested?: string;
  /** What `current` points at, if anything. */
  current?: string;
  candidates: Candidate[];
  force: boolean;
  /** Which folders the config needs in a release. */
  needs: { backend: boolean; frontend: boolean };
}

export interface Selection {
  id: string;
  /** A `failed` release taken because of --force. */
  forced: boolean;
  /** Things worth telling the user (skipped releases, a release rolled back from before). */
  notes: string[];
}

/** Characters a release id (or a prefix of one) may contain. */
const ID_CHARS = /^[0-9][0-9-]*$/;

/** Throws a UsageError unless `requested` can only name something directly under releases/. */
export function assertIdSyntax(requested: string): void {
  if (requested.includes('/') || requested.includes('\\') || requested.includes('..')) {
    throw new UsageError(`"${requested}" is not a release id: it must not contain "/" or ".."`, {
      hint: 'name a release by its id (YYYYMMDDHHmmss, optionally -N) or a unique prefix of it; see `zdd releases`',
    });
  }
  if (!ID_CHARS.test(requested) || requested.length > 40) {
    throw new UsageError(`"${requested}" is not a release id: ids are UTC timestamps YYYYMMDDHHmmss, optionally with -N`, {
      hint: 'see `zdd releases` for the kept releases',
    });
  }
}

/** Why a release cannot be served, or undefined when it can. The `failed` mark is handled separately. */
export function unservable(c: Candidate, needs: SelectInput['needs']): string | undefined {
  if (!c.isDir) return `releases/${c.id} is not a folder`;
  if (!c.record.ok) return c.record.problem;
  if (needs.backend && !c.hasBackend) return `its backend/ folder is missing`;
  if (needs.frontend && !c.hasFrontend) return `its frontend/ folder is missing`;
  if (c.record.info.status === 'building') return 'it is marked building (a deploy in progress, or one that stopped half-way)';
  return undefined;
}

function listing(ids: string[], max = 10): string {
  const shown = ids.slice(0, max).join(', ');
  return ids.length > max ? `${shown}, … (${ids.length - max} more)` : shown;
}

function resolveRequested(requested: string, candidates: Candidate[]): Candidate {
  assertIdSyntax(requested);
  const exact = candidates.find((c) => c.id === requested);
  if (exact) return exact;
  const matches = candidates
    .filter((c) => c.id.startsWith(requested))
    .map((c) => c.id)
    .sort(compareIds)
    .reverse();
  if (matches.length === 1) return candidates.find((c) => c.id === matches[0])!;
  const all = candidates
    .map((c) => c.id)
    .sort(compareIds)
    .reverse();
  if (matches.length === 0) {
    throw new UsageError(`no release matches "${requested}"`, {
      hint: all.length ? `kept releases: ${listing(all)}` : 'there are no releases yet',
    });
  }
  throw new UsageError(`"${requested}" is ambiguous: it matches ${matches.length} releases: ${listing(matches, 20)}`, {
    hint: 'give more digits of the id',
  });
}

export function selectTarget(input: SelectInput): Selection {
  const { current, candidates, force, needs } = input;
  const notes: string[] = [];

  if (input.requested !== undefined) {
    const c = resolveRequested(input.requested, candidates);
    if (c.id === current) {
      throw new UsageError(`${c.id} is already current; nothing to roll back to`, { hint: 'see `zdd releases` for the other kept releases' });
    }
    const why = unservable(c, needs);
    if (why) throw new UsageError(`cannot roll back to ${c.id}: ${why}`, { hint: 'pick another release; see `zdd releases`' });
    const info = c.record.ok ? c.record.info : undefined;
    let forced = false;
    if (info?.status === 'failed') {
      const reason = info.error ? ` (${info.error})` : '';
      if (!force) {
        throw new UsageError(`cannot roll back to ${c.id}: it is marked failed${reason}`, {
          hint: `pass --force to switch to it anyway`,
        });
      }
      forced = true;
      notes.push(`${c.id} is marked failed${reason}; going to it because of --force`);
    } else if (info && info.status !== 'ok') {
      throw new UsageError(`cannot roll back to ${c.id}: its status is "${String(info.status)}"`);
    }
    if (info?.rolledBackAt) notes.push(`${c.id} was rolled back from at ${info.rolledBackAt}`);
    return { id: c.id, forced, notes };
  }

  if (!current) {
    throw new UsageError('nothing is current, so there is no previous release to go back to', {
      hint: candidates.length
        ? `name one: zdd rollback <id> (kept: ${listing(
            candidates
              .map((c) => c.id)
              .sort(compareIds)
              .reverse(),
          )})`
        : 'deploy first',
    });
  }
  const older = candidates.filter((c) => compareIds(c.id, current) < 0).sort((a, b) => compareIds(b.id, a.id));
  for (const c of older) {
    const why = unservable(c, needs);
    if (why) {
      notes.push(`skipping ${c.id}: ${why}`);
      continue;
    }
    const info = c.record.ok ? c.record.info : undefined;
    if (info?.status !== 'ok') continue; // failed releases are never picked implicitly
    if (info.rolledBackAt) notes.push(`${c.id} was rolled back from at ${info.rolledBackAt}`);
    return { id: c.id, forced: false, notes };
  }
  throw new UsageError(`no release marked ok is older than current (${current})`, {
    hint: older.length ? `older releases: ${listing(older.map((c) => c.id))}; name one (with --force for a failed one)` : 'there is no older release on disk',
  });
}

/** Reads one release folder into a Candidate (never throws for a bad record). */
export async function loadCandidate(host: Host, paths: Paths, id: string): Promise<Candidate> {
  const dir = path.join(paths.releases, id);
  const st = await host.lstat(dir);
  const isDir = st?.type === 'dir';
  let record: Candidate['record'];
  const file = releaseJsonPath(paths, id);
  const text = isDir ? await host.readFile(file) : undefined;
  if (text === undefined) record = { ok: false, problem: `its release.json is missing (${file})` };
  else {
    try {
      record = { ok: true, info: parseRelease(text) };
    } catch (err) {
      record = { ok: false, problem: `its release.json is corrupt (${(err as Error).message})` };
    }
  }
  const [backend, frontend] = isDir ? await Promise.all([host.stat(path.join(dir, 'backend')), host.stat(path.join(dir, 'frontend'))]) : [undefined, undefined];
  return { id, record, isDir, hasBackend: backend?.type === 'dir', hasFrontend: frontend?.type === 'dir' };
}

/** Every release folder on disk, newest first. */
export async function loadCandidates(host: Host, paths: Paths): Promise<Candidate[]> {
  const ids = (await listReleaseIds(host, paths)).filter((id) => RELEASE_ID.test(id));
  return Promise.all(ids.map((id) => loadCandidate(host, paths, id)));
}

/** Which folders a release must have for this config (a rollback refuses one without them). */
export function needsOf(config: Pick<ZddConfig, 'backend' | 'frontend'>): SelectInput['needs'] {
  return { backend: Boolean(config.backend), frontend: Boolean(config.frontend) };
}
