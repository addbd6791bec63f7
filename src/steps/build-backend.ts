import path from 'node:path';
import { StepFailed } from '../core/errors.js';
import { formatBytes } from '../output/table.js';
import { buildOnceOf } from '../build/build-once.js';
import { findReusable, markReused, type Reuse } from '../build/inputs.js';
import { backendPieces, copyPieces, frontendBuildInBackend, linkPieces } from '../build/backend-copy.js';
import { runUserCommand } from './user-command.js';
import type { BackendJob, DeployContext, Step } from '../core/types.js';

/** A kept release whose backend was made from the same inputs, with its script still on disk. */
export function backendReuse(ctx: DeployContext): Promise<Reuse> {
  const b = ctx.config.backend!;
  return findReusable(ctx, 'backend', async (from) => (await ctx.host.stat(path.join(from.dir, 'backend', b.script)))?.type === 'file');
}

/**
 * The backend part of a release: hard-linked from a kept release built from the same inputs, or
 * `backend.build` (if set) and a copy of `backend.root` without node_modules and .git, with the
 * `backend.include` files beside it (or, with `backend.workspace`, the workspace copy).
 */
async function makeBackend(ctx: DeployContext, signal?: AbortSignal): Promise<string> {
  const b = ctx.config.backend!;
  const dest = path.join(ctx.release.dir, 'backend');
  const reuse = await backendReuse(ctx);
  const pieces = await backendPieces(ctx.builder, ctx.config);
  await ctx.host.remove(dest);
  const extra = pieces.pieces.length > 1 ? ` (${pieces.layout ? `workspace: ${pieces.layout.members.join(', ')}` : `with ${b.include.join(', ')}`})` : '';
  let note: string;
  if (reuse.from) {
    const r = await linkPieces(ctx.host, reuse.from.dir, ctx.release.dir, pieces);
    markReused(ctx, 'backend', reuse.from.id);
    note = `skipped ${b.build ? `\`${b.build}\` and the copy` : 'the copy'}: ${reuse.why}; hard-linked its ${r.files} files${extra}`;
    if (r.copied) note += ` (${r.copied} copied: no hard links here)`;
  } else {
    const once = buildOnceOf(ctx);
    if (once) {
      // Several hosts: backend.build runs here once; rsync sends each host only what changed since its current release.
      if (b.build) await (once.backend ??= runUserCommand(ctx, ctx.builder, b.build, { cwd: b.root, ...(signal ? { signal } : {}) }).then(() => undefined));
      const sent = await copyPieces(ctx.builder, ctx.host, ctx.release.dir, pieces, ctx.previous ? { linkDestRelease: ctx.previous.dir } : {});
      note = `${b.build ? 'built once for every host and sent' : 'sent'} (${reuse.why})${sent ? `: ${formatBytes(sent.sentBytes)} for ${formatBytes(sent.totalBytes)}` : ''}${extra}`;
    } else {
      if (b.build) await runUserCommand(ctx, ctx.builder, b.build, { cwd: b.root, ...(signal ? { signal } : {}) });
      await copyPieces(ctx.builder, ctx.host, ctx.release.dir, pieces);
      note = `${b.build ? 'built and copied' : 'copied'} (${reuse.why})${extra}`;
    }
    markReused(ctx, 'backend', undefined);
  }
  if (!(await ctx.host.stat(path.join(dest, b.script)))) {
    throw new StepFailed('build-backend', `backend.script ${b.script} is not in the release (${dest})`, {
      hint: 'backend.script is relative to backend.root; if it is built, set backend.build',
    });
  }
  return note;
}

/**
 * Start the backend part now, alongside the frontend build (the story begins this step with
 * build-frontend); the run then only waits for it and reports it. Ctrl-C cancels it like any command.
 */
function startBackendAlongside(ctx: DeployContext): void {
  if (!ctx.config.backend || ctx.state.backendJob) return;
  // The frontend build writes into backend.root: copying it meanwhile would race the build.
  if (frontendBuildInBackend(ctx.config)) return;
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, ctx.interrupt.controller.signal]);
  const t0 = performance.now();
  const promise = makeBackend(ctx, signal).then((note) => ({ note, ms: performance.now() - t0 }));
  promise.catch(() => {}); // reported by the build-backend step
  ctx.state.backendJob = { promise, controller, consumed: false } satisfies BackendJob;
}

/** The frontend build failed (or was stopped) before build-backend ran: stop the job and let it end. */
async function settleBackendJob(ctx: DeployContext): Promise<void> {
  const job = ctx.state.backendJob;
  if (!job || job.consumed) return;
  job.controller.abort();
  await job.promise.catch(() => {});
}

const also = (ctx: DeployContext) => {
  const b = ctx.config.backend!;
  return `${b.workspace ? ', the workspace copy' : ''}${b.include.length ? `, ${b.include.join(', ')}` : ''}`;
};

/**
 * One package serving its own build: backend/<outDir> becomes the release's frontend (hard links),
 * built or reused by build-frontend before this step runs, so the server serves what Nginx serves.
 */
async function linkFrontendBuild(ctx: DeployContext): Promise<string> {
  const rel = frontendBuildInBackend(ctx.config);
  if (!rel) return '';
  const dest = path.join(ctx.release.dir, 'backend', rel);
  await ctx.host.remove(dest);
  const r = await ctx.host.linkTree(path.join(ctx.release.dir, 'frontend'), dest);
  return `; ${rel}/ is the release's frontend (${r.files} files hard-linked: the backend serves its own build)`;
}

/** Run `backend.build` if set; copy `backend.root` into releases/<id>/backend/ without node_modules and .git. */
export const buildBackend: Step = {
  id: 'build-backend',
  async plan(ctx) {
    const b = ctx.config.backend;
    if (!b) return { skip: 'no backend configured', summary: '' };
    const reuse = await backendReuse(ctx);
    if (reuse.from) {
      return {
        summary: `reuse the backend of ${reuse.from.id}: same inputs`,
        actions: [`hard-link ${reuse.from.dir}/backend -> ${ctx.release.dir}/backend (without node_modules and shared links)${also(ctx)}; no build, no copy`],
      };
    }
    const actions = b.workspace
      ? [
          `copy the workspace root's package files, ${b.root} and the workspace packages it depends on -> ${ctx.release.dir}/workspace; backend -> the member there`,
        ]
      : [`copy ${b.root} -> ${ctx.release.dir}/backend (without node_modules, .git)`];
    if (b.include.length) actions.push(`copy ${b.include.join(', ')} (backend.include) beside it`);
    if (b.build) actions.unshift(`run \`${b.build}\` in ${b.root}`);
    const served = frontendBuildInBackend(ctx.config);
    if (served) actions.push(`after build-frontend: hard-link the release's frontend into backend/${served} (the backend serves its own build)`);
    else if (ctx.config.frontend) actions.push('starts alongside build-frontend');
    return { summary: b.build ?? 'copy the backend', actions };
  },
  begin: startBackendAlongside,
  async run(ctx) {
    const job = ctx.state.backendJob;
    if (!job) return `${await makeBackend(ctx)}${await linkFrontendBuild(ctx)}`;
    job.consumed = true;
    const t0 = performance.now();
    const { note, ms } = await job.promise;
    const waited = performance.now() - t0;
    ctx.state.parallel = { ...ctx.state.parallel, 'build-backend': Math.round(ms) };
    return `${note}; ran alongside build-frontend in ${Math.round(ms)} ms (waited ${Math.round(waited)} ms for it)`;
  },
  /** Never leave the backend job running past a failed or stopped frontend build. */
  cleanup: settleBackendJob,
};
