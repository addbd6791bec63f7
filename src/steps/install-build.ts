import path from 'node:path';
import { buildOnceOf } from '../build/build-once.js';
import { type BuildInstall, INSTALL_MARKER, installMarker, planBuildInstall } from '../build/build-install.js';
import { backendReuse } from './build-backend.js';
import { frontendReuse } from './build-frontend.js';
import { runUserCommand } from './user-command.js';
import type { DeployContext, Plan, Step } from '../core/types.js';

/** The frontend's install, or why there is none to run. */
async function frontendInstall(ctx: DeployContext): Promise<BuildInstall | string> {
  const f = ctx.config.frontend;
  if (!f) return 'no frontend configured';
  if (f.install === false) return 'frontend.install is false (you install)';
  const reuse = await frontendReuse(ctx);
  if (reuse.from) return `not needed: the frontend of ${reuse.from.id} is reused (same inputs), no build runs`;
  return (await planBuildInstall(ctx.builder, {
    start: f.root,
    stop: ctx.config.projectDir,
    setting: f.install,
    node: process.version,
    ignoreMarker: ctx.flags.noCache === true,
  }))!;
}

/** The backend's dev-dependency install before `backend.build`, or why there is none to run. */
async function backendBuildInstall(ctx: DeployContext): Promise<BuildInstall | string> {
  const b = ctx.config.backend;
  if (!b) return 'no backend configured';
  if (!b.build) return 'no backend.build (the release installs production dependencies only)';
  if (b.buildInstall === false) return 'backend.buildInstall is false (you install)';
  const reuse = await backendReuse(ctx);
  if (reuse.from) return `not needed: the backend of ${reuse.from.id} is reused (same inputs), no build runs`;
  const start = b.workspace ?? b.root;
  return (await planBuildInstall(ctx.builder, {
    start,
    stop: ctx.config.projectDir,
    setting: b.buildInstall,
    node: process.version,
    ignoreMarker: ctx.flags.noCache === true,
  }))!;
}

function planOf(ctx: DeployContext, i: BuildInstall | string, also?: string): Plan<BuildInstall> {
  if (typeof i === 'string') return { skip: i, summary: '' };
  if (i.fresh) return { skip: i.fresh, summary: '' };
  if (also) return { skip: also, summary: '' };
  const where = i.lockfile ? `the folder of ${i.lockfile}` : 'no lockfile found';
  return {
    summary: i.command,
    actions: [
      `run \`${i.command}\` in ${i.dir} (${where}) on ${ctx.builder.name}`,
      `write ${path.join(i.dir, INSTALL_MARKER)} (its hash, to skip it while nothing changed)`,
    ],
    found: i,
  };
}

/** Run the install once per folder and command, however many hosts or parts ask for it. */
async function runInstall(ctx: DeployContext, i: BuildInstall): Promise<string> {
  const once = buildOnceOf(ctx);
  const key = `${i.dir}\0${i.command}`;
  const work = async () => {
    await runUserCommand(ctx, ctx.builder, i.command, { cwd: i.dir });
    // A package without dependencies gets no node_modules from npm; the marker needs one.
    await ctx.builder.mkdir(path.join(i.dir, 'node_modules'));
    await ctx.builder.writeFile(path.join(i.dir, INSTALL_MARKER), installMarker(i, process.version, new Date()));
  };
  if (once) {
    once.installs ??= {};
    const first = !once.installs[key];
    await (once.installs[key] ??= work());
    return first ? `installed in ${i.dir}` : `installed in ${i.dir} (once for every host)`;
  }
  await work();
  return `installed in ${i.dir}`;
}

/**
 * `frontend.install` on the build machine, before the build: a fresh checkout has no node_modules.
 * Skipped while node_modules matches the hash in its .zdd-install.json, and when the build is reused.
 */
export const installFrontend: Step<BuildInstall> = {
  id: 'install-frontend',
  async plan(ctx) {
    return planOf(ctx, await frontendInstall(ctx));
  },
  async run(ctx, plan) {
    return runInstall(ctx, plan.found!);
  },
};

/**
 * The backend's dev dependencies on the build machine before `backend.build` (a TypeScript build needs
 * them); the same folder and command as the frontend's (a workspace root) installs once.
 */
export const installBackendBuild: Step<BuildInstall> = {
  id: 'install-backend-build',
  async plan(ctx) {
    const i = await backendBuildInstall(ctx);
    const f = typeof i === 'string' || i.fresh ? undefined : await frontendInstall(ctx);
    const same = f && typeof f !== 'string' && !f.fresh && typeof i !== 'string' && f.dir === i.dir && f.command === i.command;
    return planOf(ctx, i, same ? `install-frontend runs \`${f.command}\` in ${f.dir}, which covers the backend build` : undefined);
  },
  async run(ctx, plan) {
    return runInstall(ctx, plan.found!);
  },
};
