import { StepFailed } from '../core/errors.js';
import { onThisMachine } from '../host/types.js';
import type { Host } from '../host/types.js';
import { listReleaseIds, readRelease, writeRelease, updateRelease, type ReleaseInfo } from '../releases/release.js';
import { loadPm2Api } from '../pm2/pm2.js';
import { stopStrayCanary } from './canary.js';
import type { DeployContext, Step } from '../core/types.js';

/** Commit, branch and dirty flag in one `git status --porcelain=v2 --branch` (null outside git). */
async function gitInfo(builder: Host, dir: string): Promise<ReleaseInfo['git']> {
  const r = await builder
    .exec(['git', 'status', '--porcelain=v2', '--branch'], { cwd: dir, reject: false, readOnly: true })
    .catch(() => ({ exitCode: 1, stdout: '' }));
  if (r.exitCode !== 0) return { commit: null, branch: null, dirty: null };
  const header = (name: string) =>
    r.stdout
      .split('\n')
      .find((l) => l.startsWith(`# branch.${name} `))
      ?.slice(`# branch.${name} `.length)
      .trim();
  const oid = header('oid');
  const head = header('head');
  return {
    commit: oid && oid !== '(initial)' ? oid : null,
    branch: head && head !== '(detached)' ? head : null,
    dirty: r.stdout.split('\n').some((l) => l !== '' && !l.startsWith('#')),
  };
}

/**
 * Half-built releases left by a deploy that was killed: we hold the lock, so nothing is building
 * them any more. Mark them failed (never touching `current`); prune removes them.
 */
async function markAbandoned(ctx: DeployContext): Promise<number> {
  let n = 0;
  for (const id of await listReleaseIds(ctx.host, ctx.paths)) {
    if (id === ctx.release.id || id === ctx.previous?.id) continue;
    const info = await readRelease(ctx.host, ctx.paths, id, ctx.out);
    if (info?.status === 'building') {
      await updateRelease(ctx.host, ctx.paths, id, { status: 'failed', error: 'abandoned: the deploy building it stopped' });
      ctx.out.warn(`release ${id} was left half-built by a deploy that stopped; marked failed`);
      n++;
    }
  }
  return n;
}

/** Create releases/<id>/ and its release.json (status `building`). */
export const prepare: Step = {
  id: 'prepare',
  async plan(ctx) {
    return { summary: `create ${ctx.release.dir}` };
  },
  async run(ctx) {
    await ctx.host.mkdir(ctx.paths.shared);
    // Load PM2's API in the background while the builds run; pm2-check uses it.
    if (ctx.config.backend && onThisMachine(ctx.host)) ctx.state.pm2Api ??= loadPm2Api().catch(() => undefined);
    await stopStrayCanary(ctx);
    await markAbandoned(ctx);
    // A second run of this step for this very release (same start) carries on; any other folder of that name is not ours.
    if (await ctx.host.lstat(ctx.release.dir)) {
      const info = await readRelease(ctx.host, ctx.paths, ctx.release.id, ctx.out);
      if (info?.status !== 'building' || info.createdAt !== ctx.startedAt.toISOString()) {
        throw new StepFailed('prepare', `${ctx.release.dir} already exists`);
      }
    }
    await ctx.host.mkdir(ctx.release.dir);
    const me = await ctx.host.identity();
    const git = await gitInfo(ctx.builder, ctx.config.projectDir);
    await writeRelease(ctx.host, ctx.paths, {
      id: ctx.release.id,
      status: 'building',
      git,
      commit: git.commit,
      user: me.user,
      host: me.hostname,
      createdAt: ctx.startedAt.toISOString(),
    });
    return git.commit ? `${git.commit.slice(0, 8)}${git.dirty ? ' (dirty)' : ''}` : undefined;
  },
};
