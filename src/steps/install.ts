import path from 'node:path';
import { findReusable, markReused, type Reuse } from '../build/inputs.js';
import { backendInstallLine, installDirIn, workspaceLayout } from '../build/workspace.js';
import { runUserCommand } from './user-command.js';
import type { DeployContext, Step } from '../core/types.js';
import type { Host } from '../host/types.js';

/** The check a reused node_modules must pass; on failure the install runs clean. */
export const VERIFY_INSTALL = ['npm', 'ls', '--omit=dev', '--depth=0'];

/** package.json scripts npm runs on install: they may write outside node_modules, so never skip them. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

/** Install scripts in the package.json of `root` (backend.root, which the release copies), read through `host`. */
export async function installScriptsOf(host: Host, root: string): Promise<string[]> {
  const text = await host.readFile(path.join(root, 'package.json'));
  if (text === undefined) return [];
  try {
    const scripts = (JSON.parse(text) as { scripts?: Record<string, unknown> }).scripts ?? {};
    return INSTALL_SCRIPTS.filter((s) => typeof scripts[s] === 'string');
  } catch {
    return [];
  }
}

/**
 * A kept release installed from the same lockfile, package.json, install command and Node; never
 * when package.json has install scripts.
 */
export async function installReuse(ctx: DeployContext): Promise<Reuse> {
  // A workspace's node_modules are spread over its root and members (pnpm links between them): installed each time.
  if (ctx.config.backend!.workspace) return { why: 'a workspace backend is installed in every release' };
  const reuse = await findReusable(ctx, 'install', async (from) => (await ctx.host.stat(path.join(from.dir, 'backend')))?.type === 'dir');
  if (!reuse.from) return reuse;
  const scripts = await installScriptsOf(ctx.builder, ctx.config.backend!.root);
  if (scripts.length) return { why: `package.json has install scripts (${scripts.join(', ')}), which may write outside node_modules` };
  return reuse;
}

/** The install as it runs: with a workspace, in the release's workspace copy, for the member only. */
async function installLine(ctx: DeployContext): Promise<{ line: string; dir: string }> {
  const b = ctx.config.backend!;
  const layout = b.workspace ? await workspaceLayout(ctx.builder, b.workspace, b.root) : undefined;
  return { line: backendInstallLine(ctx.config, layout), dir: installDirIn(ctx.release.dir, ctx.config) };
}

/**
 * Run `backend.install` inside the release's backend folder; or, when the lockfile, package.json,
 * install command and Node are those of a kept release, hard-link its node_modules (`cp -al`) and
 * check them with `npm ls --omit=dev --depth=0`, falling back to a clean install if that fails.
 */
export const install: Step = {
  id: 'install',
  async plan(ctx) {
    const b = ctx.config.backend;
    if (!b) return { skip: 'no backend configured', summary: '' };
    const dir = path.join(ctx.release.dir, 'backend');
    const reuse = await installReuse(ctx);
    if (reuse.from) {
      return {
        summary: `reuse node_modules of ${reuse.from.id}: same lockfile, package.json, install command and Node`,
        actions: [
          `hard-link ${reuse.from.dir}/backend/node_modules -> ${dir}/node_modules`,
          `check it with \`${VERIFY_INSTALL.join(' ')}\`; if that fails, run \`${b.install}\` in ${dir}`,
        ],
      };
    }
    const { line, dir: where } = await installLine(ctx);
    return { summary: line, actions: [`run \`${line}\` in ${where}`] };
  },
  async run(ctx) {
    const b = ctx.config.backend!;
    const dir = path.join(ctx.release.dir, 'backend');
    const nodeModules = path.join(dir, 'node_modules');
    const reuse = await installReuse(ctx);
    let why = reuse.why;
    if (reuse.from) {
      const src = path.join(reuse.from.dir, 'backend', 'node_modules');
      await ctx.host.remove(nodeModules);
      if ((await ctx.host.lstat(src))?.type !== 'dir') {
        markReused(ctx, 'install', reuse.from.id);
        return `skipped \`${b.install}\`: ${reuse.why}, which has no node_modules (nothing to install)`;
      }
      const linked = await ctx.host.linkTree(src, nodeModules);
      const check = await ctx.host.exec(VERIFY_INSTALL, { cwd: dir, reject: false, signal: ctx.interrupt.controller.signal });
      if (check.exitCode === 0) {
        markReused(ctx, 'install', reuse.from.id);
        const copied = linked.copied ? `, ${linked.copied} of them copied (no hard links here)` : '';
        return `skipped \`${b.install}\`: ${reuse.why}; hard-linked its node_modules (${linked.files} files${copied}); \`${VERIFY_INSTALL.join(' ')}\` passed`;
      }
      if (ctx.interrupt.requested) throw new Error(`\`${VERIFY_INSTALL.join(' ')}\` was cancelled`);
      const first = (check.all || check.stderr || check.stdout).split('\n').find((l) => /ERR|missing|invalid|extraneous/i.test(l)) ?? `exit ${check.exitCode}`;
      ctx.out.warn(`install: the node_modules hard-linked from ${reuse.from.id} failed \`${VERIFY_INSTALL.join(' ')}\` (${first.trim()}); installing clean`);
      await ctx.host.remove(nodeModules);
      why = `the node_modules of ${reuse.from.id} failed \`${VERIFY_INSTALL.join(' ')}\``;
    }
    markReused(ctx, 'install', undefined);
    const { line, dir: where } = await installLine(ctx);
    await runUserCommand(ctx, ctx.host, line, { cwd: where });
    return `installed (${why})`;
  },
};
