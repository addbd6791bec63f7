/**
 * The hook steps (hooks = hooks.beforeSwitch, after-switch = hooks.afterSwitch) on a RecordingHost:
 * each line runs through the host's shell, in order, in the release's backend folder, with
 * ZDD_RELEASE and friends (over backend.env) in its environment; no lines, a skip.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandFailed } from '../../../src/core/errors.js';
import type { ExecOptions } from '../../../src/host/types.js';
import { afterSwitch, beforeSwitch } from '../../../src/steps/hooks.js';
import { BACKEND, callsTo, id, mutations, planAndRun, stepConfig, stepContext } from '../../helpers/steps.js';

const withHooks = (hooks: Record<string, string[]>, backend = true) =>
  stepConfig({ hooks, ...(backend ? { backend: { ...BACKEND, env: { DATABASE_URL: 'postgres://db', ZDD_RELEASE: 'not this one' } } } : {}) });

describe.each([
  { step: beforeSwitch, name: 'beforeSwitch' },
  { step: afterSwitch, name: 'afterSwitch' },
])('$step.id (hooks.$name)', ({ step, name }) => {
  it('runs each line in order through the shell, in the backend folder, with ZDD_RELEASE in env', async () => {
    const { ctx, host, paths } = stepContext({
      config: withHooks({ [name]: ['npm run migrate', 'echo done >> hooks.log'] }),
      releaseId: id(2),
      previousId: id(1),
    });
    const { plan } = await planAndRun(step, ctx);
    expect(plan.summary).toBe('npm run migrate && echo done >> hooks.log');
    expect(plan.actions).toEqual([`run \`npm run migrate\` with ZDD_RELEASE=${id(2)}`, `run \`echo done >> hooks.log\` with ZDD_RELEASE=${id(2)}`]);
    const shells = callsTo(host, 'shell');
    expect(shells.map(([line]) => line)).toEqual(['npm run migrate', 'echo done >> hooks.log']);
    expect(mutations(host)).toEqual(['shell npm run migrate', 'shell echo done >> hooks.log']);
    for (const [, opts] of shells) {
      const o = opts as ExecOptions;
      expect(o.cwd).toBe(path.join(paths.releases, id(2), 'backend'));
      expect(o.env).toEqual({
        DATABASE_URL: 'postgres://db',
        ZDD_RELEASE: id(2),
        ZDD_RELEASE_DIR: path.join(paths.releases, id(2)),
        ZDD_DEPLOY_TO: paths.root,
        ZDD_PREVIOUS_RELEASE: id(1),
        ZDD_COMMAND: 'deploy',
      });
    }
  });

  it('skips when there is no hook', async () => {
    const { ctx, host } = stepContext({ config: withHooks({}) });
    const { plan } = await planAndRun(step, ctx);
    expect(plan.skip).toBe(`no hooks.${name}`);
    expect(mutations(host)).toEqual([]);
  });

  it('stops at the first failing line (CommandFailed), running none after it', async () => {
    const { ctx, host } = stepContext({ config: withHooks({ [name]: ['false-migrate', 'echo never'] }) });
    host.respond = (cmd) => (cmd === 'false-migrate' ? { exitCode: 2, all: 'migration 0042 failed' } : undefined);
    const err = await planAndRun(step, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).tail).toContain('migration 0042 failed');
    expect(host.commands()).toEqual(['false-migrate']);
  });

  it('without a backend, runs in the release folder', async () => {
    const { ctx, host, paths } = stepContext({ config: withHooks({ [name]: ['./notify'] }, false), releaseId: id(3) });
    await planAndRun(step, ctx);
    expect((callsTo(host, 'shell')[0]![1] as ExecOptions).cwd).toBe(path.join(paths.releases, id(3)));
    expect((callsTo(host, 'shell')[0]![1] as ExecOptions).env).toMatchObject({ ZDD_RELEASE: id(3), ZDD_PREVIOUS_RELEASE: '' });
  });
});
