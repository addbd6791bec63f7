import path from 'node:path';
import { StepFailed } from '../core/errors.js';
import { MANIFEST, parseManifest } from './carry-over.js';
import { formatBytes } from '../output/table.js';
import { buildOnceOf, type BuildOnce } from '../build/build-once.js';
import { findReusable, markReused, type Reuse } from '../build/inputs.js';
import { describePrecompress, precompressDir, precompressOptions } from '../build/precompress.js';
import { runUserCommand } from './user-command.js';
import type { DeployContext, ReleaseRef, Step } from '../core/types.js';

/** A kept release whose frontend was built from the same inputs, with its index.html still on disk. */
export function frontendReuse(ctx: DeployContext): Promise<Reuse> {
  return findReusable(ctx, 'frontend', async (from) => (await ctx.host.stat(path.join(from.dir, 'frontend', 'index.html')))?.type === 'file');
}

/**
 * Hard-link the files `from`'s own build produced (its frontend/ minus what carry-over brought in,
 * as recorded in its frontend-files.json; its .gz/.br included) into the new release's frontend/.
 */
async function linkOwnFrontend(ctx: DeployContext, from: ReleaseRef, dest: string): Promise<{ files: number; bytes: number; copied: number }> {
  let carried: Record<string, string> = {};
  const text = await ctx.host.readFile(path.join(from.dir, MANIFEST));
  if (text !== undefined) {
    try {
      carried = parseManifest(text).carried ?? {};
    } catch {
      throw new StepFailed('build-frontend', `${path.join(from.dir, MANIFEST)} is corrupt; cannot tell its own files from carried ones`, {
        hint: 'run zdd deploy --no-cache to build the frontend',
      });
    }
  }
  const src = path.join(from.dir, 'frontend');
  const res = { files: 0, bytes: 0, copied: 0 };
  for (const f of await ctx.host.listFiles(src)) {
    if (f.path in carried) continue;
    const r = await ctx.host.link(path.join(src, f.path), path.join(dest, f.path));
    if (r === 'exists') continue;
    res.files++;
    res.bytes += f.size;
    if (r === 'copied') res.copied++;
  }
  return res;
}

/** The frontend built here once for every host: the build, its output copied to a staging folder, precompressed. */
async function stageFrontend(ctx: DeployContext, once: BuildOnce): Promise<string> {
  const f = ctx.config.frontend!;
  await runUserCommand(ctx, ctx.builder, f.build, { cwd: f.root });
  const outDir = path.resolve(f.root, f.outDir);
  if (!(await ctx.builder.stat(path.join(outDir, 'index.html')))) {
    throw new StepFailed('build-frontend', `${outDir} has no index.html after \`${f.build}\``, {
      hint: 'check frontend.outDir (relative to frontend.root) and the build command',
    });
  }
  const staged = await ctx.builder.tempDir('zdd-frontend-');
  once.dirs.push(staged);
  await ctx.builder.upload(outDir, staged);
  const pc = precompressOptions(ctx.config);
  if (pc.enabled) await precompressDir(ctx.builder, staged, { minBytes: pc.minBytes });
  return staged;
}

/**
 * Run `frontend.build` in `frontend.root`; copy `outDir` into releases/<id>/frontend/; then write
 * `.gz`/`.br` next to its text files (unless `frontend.precompress` is false). When a kept release
 * was built from the same inputs, hard-link its build output instead. The backend part runs
 * alongside (the story begins build-backend with this step).
 */
export const buildFrontend: Step = {
  id: 'build-frontend',
  async plan(ctx) {
    const f = ctx.config.frontend;
    if (!f) return { skip: 'no frontend configured', summary: '' };
    const reuse = await frontendReuse(ctx);
    const alongside = ctx.config.backend ? ['build-backend starts alongside'] : [];
    if (reuse.from) {
      return {
        summary: `reuse the frontend of ${reuse.from.id}: same inputs`,
        actions: [`hard-link the build output of ${reuse.from.dir}/frontend (not the files it carried) -> ${ctx.release.dir}/frontend; no build`, ...alongside],
      };
    }
    const pc = precompressOptions(ctx.config);
    const actions = [`run \`${f.build}\` in ${f.root}`, `copy ${path.join(f.root, f.outDir)} -> ${ctx.release.dir}/frontend`];
    if (pc.enabled) actions.push(`write .gz/.br next to text files of ${pc.minBytes} bytes or more (same mtime)`);
    return { summary: f.build, actions: [...actions, ...alongside] };
  },
  async run(ctx) {
    const f = ctx.config.frontend!;
    const dest = path.join(ctx.release.dir, 'frontend');
    const reuse = await frontendReuse(ctx);
    if (reuse.from) {
      await ctx.host.remove(dest);
      const r = await linkOwnFrontend(ctx, reuse.from, dest);
      if (!(await ctx.host.stat(path.join(dest, 'index.html')))) {
        throw new StepFailed('build-frontend', `the frontend of ${reuse.from.id} has no index.html`, { hint: 'run zdd deploy --no-cache' });
      }
      markReused(ctx, 'frontend', reuse.from.id);
      return `skipped \`${f.build}\`: ${reuse.why}; hard-linked its ${r.files} files (${formatBytes(r.bytes)})${r.copied ? `, ${r.copied} of them copied (no hard links here)` : ''}`;
    }
    const once = buildOnceOf(ctx);
    if (once) {
      // Several hosts: build here once, precompress once, then rsync to each host.
      once.frontend ??= stageFrontend(ctx, once);
      const staged = await once.frontend;
      await ctx.host.remove(dest);
      const sent = await ctx.host.upload(staged, dest, { linkDest: ctx.previous ? [path.join(ctx.previous.dir, 'frontend')] : [] });
      markReused(ctx, 'frontend', undefined);
      return `built once for every host (${reuse.why})${sent ? `; sent ${formatBytes(sent.sentBytes)} for ${formatBytes(sent.totalBytes)}` : ''}`;
    }
    await runUserCommand(ctx, ctx.builder, f.build, { cwd: f.root });
    const outDir = path.resolve(f.root, f.outDir);
    if (!(await ctx.builder.stat(path.join(outDir, 'index.html')))) {
      throw new StepFailed('build-frontend', `${outDir} has no index.html after \`${f.build}\``, {
        hint: 'check frontend.outDir (relative to frontend.root) and the build command',
      });
    }
    await ctx.host.remove(dest);
    await ctx.host.upload(outDir, dest);
    markReused(ctx, 'frontend', undefined);
    const pc = precompressOptions(ctx.config);
    const built = `built (${reuse.why})`;
    if (!pc.enabled) return built;
    return `${built}; ${describePrecompress(await precompressDir(ctx.host, dest, { minBytes: pc.minBytes }))}`;
  },
};
