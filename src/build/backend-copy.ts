/**
 * What the backend part of a release is made of, as pieces copied from the build machine (or
 * hard-linked from a kept release): backend.root as backend/, and each `backend.include` at its place
 * relative to it; with `backend.workspace`, the workspace copy (root files, the member, the members
 * it needs, the includes) under workspace/, and backend/ a symlink to the member there.
 */
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
import { WORKSPACE_DIR, type WorkspaceLayout, workspaceLayout } from './workspace.js';

/** Never copied from the project. */
const NOT_COPIED = ['node_modules', '.git'];

export interface Piece {
  /** On the build machine. */
  src: string;
  /** Relative to the release folder. */
  rel: string;
  /** What a hard-linked copy from a kept release leaves out (its install and shared links). */
  notCarried: string[];
  /** A folder for sure (backend.root, a member): uploaded without asking. */
  dir?: true;
}

export interface BackendPieces {
  pieces: Piece[];
  /** backend/ -> this (relative to the release), with a workspace. */
  link?: string;
  layout?: WorkspaceLayout;
}

/**
 * `frontend.outDir` relative to `backend.root` when the backend's folder holds it: one package whose
 * server serves its own build (`express.static('build')`), or `outDir: '../server/public'`. The
 * release's backend then gets the release's frontend there (build-backend), never the working
 * tree's copy, which a parallel build may be writing and a reused frontend never wrote.
 */
export function frontendBuildInBackend(config: ZddConfig): string | undefined {
  const f = config.frontend;
  const b = config.backend;
  if (!f || !b) return undefined;
  const rel = path.relative(path.resolve(b.root), path.resolve(f.root, f.outDir));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : undefined;
}

export async function backendPieces(builder: Host, config: ZddConfig): Promise<BackendPieces> {
  const b = config.backend!;
  const own = ['node_modules', ...config.shared.files, ...config.shared.dirs];
  if (!b.workspace) {
    const pieces: Piece[] = [{ src: b.root, rel: 'backend', notCarried: own, dir: true }];
    for (const inc of b.include) pieces.push({ src: path.resolve(b.root, inc), rel: path.normalize(path.join('backend', inc)), notCarried: ['node_modules'] });
    return { pieces };
  }
  const layout = await workspaceLayout(builder, b.workspace, b.root);
  const at = (rel: string) => path.normalize(path.join(WORKSPACE_DIR, rel));
  const pieces: Piece[] = layout.files.map((f) => ({ src: path.join(layout.root, f), rel: at(f), notCarried: [] }));
  for (const m of layout.members)
    pieces.push({ src: path.join(layout.root, m), rel: at(m), notCarried: m === layout.member ? own : ['node_modules'], dir: true });
  for (const inc of b.include) pieces.push({ src: path.resolve(b.root, inc), rel: at(path.join(layout.member, inc)), notCarried: ['node_modules'] });
  return { pieces, link: at(layout.member), layout };
}

/** Copy the pieces from the builder into `releaseDir` on the host (files by content, folders by upload). */
export async function copyPieces(
  builder: Host,
  host: Host,
  releaseDir: string,
  p: BackendPieces,
  opts: { linkDestRelease?: string } = {},
): Promise<{ sentBytes: number; totalBytes: number } | undefined> {
  let sent: { sentBytes: number; totalBytes: number } | undefined;
  for (const piece of p.pieces) {
    const dest = path.join(releaseDir, piece.rel);
    await host.remove(dest);
    const st = piece.dir ? undefined : await builder.stat(piece.src);
    if (piece.dir || st?.type === 'dir') {
      const linkDest = opts.linkDestRelease ? [path.join(opts.linkDestRelease, piece.rel)] : [];
      // rsync makes the last folder only (workspace/packages/server needs workspace/packages).
      await host.mkdir(path.dirname(dest));
      const r = await host.upload(piece.src, dest, { exclude: NOT_COPIED, ...(linkDest.length ? { linkDest } : {}) });
      if (r) sent = { sentBytes: (sent?.sentBytes ?? 0) + r.sentBytes, totalBytes: (sent?.totalBytes ?? 0) + r.totalBytes };
    } else if (st) {
      const bytes = await builder.readBytes(piece.src);
      if (bytes === undefined) throw new Error(`cannot read ${piece.src}`);
      await host.mkdir(path.dirname(dest));
      await host.writeBytes(dest, bytes);
    } else {
      throw new Error(`${piece.src} is missing (backend.include or the workspace lists it)`);
    }
  }
  await linkBackend(host, releaseDir, p);
  return sent;
}

/** Hard-link the pieces from the kept release `fromDir` (without their install and shared links). */
export async function linkPieces(host: Host, fromDir: string, releaseDir: string, p: BackendPieces): Promise<{ files: number; copied: number }> {
  const res = { files: 0, copied: 0 };
  for (const piece of p.pieces) {
    const src = path.join(fromDir, piece.rel);
    const dest = path.join(releaseDir, piece.rel);
    await host.remove(dest);
    const st = await host.lstat(src);
    if (st?.type === 'dir') {
      const r = await host.linkTree(src, dest, { exclude: piece.notCarried });
      res.files += r.files;
      res.copied += r.copied;
    } else if (st?.type === 'file') {
      await host.mkdir(path.dirname(dest));
      const r = await host.link(src, dest);
      if (r !== 'exists') res.files++;
      if (r === 'copied') res.copied++;
    } else {
      throw new Error(`${src} is missing in the kept release`);
    }
  }
  await linkBackend(host, releaseDir, p);
  return res;
}

async function linkBackend(host: Host, releaseDir: string, p: BackendPieces): Promise<void> {
  if (!p.link) return;
  const backend = path.join(releaseDir, 'backend');
  await host.remove(backend);
  // Relative, so the release can be moved or read through `current`.
  await host.symlink(path.relative(path.dirname(backend), path.join(releaseDir, p.link)), backend);
}
