/**
 * The step runner with fake steps on a hand-built DeployContext backed by a RecordingHost:
 * order, skipping, undo in reverse on failure, cleanup always, error mapping, dry-run planning and
 * interrupts.
 */
import { describe, expect, it } from 'vitest';
import type { ZddConfig } from '../../src/config/schema.js';
import { CommandFailed, EXIT, LockedError, StepFailed, UsageError, exitCodeOf } from '../../src/core/errors.js';
import { RecordingHost } from '../../src/host/recording.js';
import { Interrupted, planSteps, runSteps, type StepReport } from '../../src/deploy/runner.js';
import type { DeployContext, Plan, Step } from '../../src/core/types.js';
import { testContext } from '../helpers/context.js';

function makeCtx(host = new RecordingHost()) {
  const config = { app: 'shop', deployTo: '/srv/shop', keepReleases: 5 } as unknown as ZddConfig;
  const { ctx, log } = testContext({ config, host, previousId: '20261126103000' });
  return { ctx, host, log };
}

interface FakeOptions {
  skip?: string;
  planThrows?: unknown;
  runThrows?: unknown;
  verifyThrows?: unknown;
  undo?: boolean;
  cleanup?: boolean;
  cleanupThrows?: unknown;
  onRun?: (ctx: DeployContext) => void;
  note?: string;
}

/** A step that appends `<id>.<phase>` to `calls` for every phase the runner calls. */
function fake(id: string, calls: string[], o: FakeOptions = {}): Step {
  const step: Step = {
    id,
    async plan(): Promise<Plan> {
      calls.push(`${id}.plan`);
      if (o.planThrows) throw o.planThrows;
      return o.skip ? { skip: o.skip, summary: '' } : { summary: `do ${id}`, actions: [`${id} action`] };
    },
    async run(ctx) {
      calls.push(`${id}.run`);
      o.onRun?.(ctx);
      if (o.runThrows) throw o.runThrows;
      return o.note;
    },
    async verify() {
      calls.push(`${id}.verify`);
      if (o.verifyThrows) throw o.verifyThrows;
    },
  };
  if (o.undo !== false) step.undo = async () => void calls.push(`${id}.undo`);
  if (o.cleanup || o.cleanupThrows) {
    step.cleanup = async () => {
      calls.push(`${id}.cleanup`);
      if (o.cleanupThrows) throw o.cleanupThrows;
    };
  }
  return step;
}

async function failure(p: Promise<unknown>): Promise<Error & { reports?: StepReport[] }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { reports?: StepReport[] };
  }
  throw new Error('expected the promise to reject');
}

describe('runSteps', () => {
  it('runs plan, run, verify of each step in order and reports each as done', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    const reports = await runSteps([fake('a', calls, { note: 'noted' }), fake('b', calls), fake('c', calls)], ctx);
    expect(calls).toEqual(['a.plan', 'a.run', 'a.verify', 'b.plan', 'b.run', 'b.verify', 'c.plan', 'c.run', 'c.verify']);
    expect(reports.map((r) => [r.id, r.status])).toEqual([
      ['a', 'done'],
      ['b', 'done'],
      ['c', 'done'],
    ]);
    expect(reports[0]!.note).toBe('noted');
    expect(Object.keys(ctx.timings)).toEqual(['a', 'b', 'c']);
  });

  it('prints a start and a done line per step', async () => {
    const { ctx, log } = makeCtx();
    await runSteps([fake('a', [])], ctx);
    expect(log()).toMatch(/start a — do a\n/);
    expect(log()).toMatch(/done {2}a \(\d+ ms\)\n/);
  });

  it('skips a step whose plan says skip: no run, no verify, no cleanup, no undo later', async () => {
    const { ctx, log } = makeCtx();
    const calls: string[] = [];
    const reports = await runSteps([fake('a', calls), fake('b', calls, { skip: 'already done', cleanup: true }), fake('c', calls)], ctx);
    expect(calls).toEqual(['a.plan', 'a.run', 'a.verify', 'b.plan', 'c.plan', 'c.run', 'c.verify']);
    expect(reports[1]).toEqual({ id: 'b', status: 'skipped', ms: 0, note: 'already done' });
    expect(log()).toContain('skip  b — already done');

    const calls2: string[] = [];
    await failure(runSteps([fake('a', calls2, { skip: 'nothing to do' }), fake('b', calls2, { runThrows: new Error('boom') })], ctx));
    expect(calls2).not.toContain('a.undo');
    expect(calls2).toContain('b.undo');
  });

  it('on a failed run, undoes the completed steps in reverse, including the failing one', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    const steps = [fake('a', calls), fake('b', calls, { undo: false }), fake('c', calls), fake('d', calls, { runThrows: new Error('boom') }), fake('e', calls)];
    const err = await failure(runSteps(steps, ctx));
    expect(calls).toEqual([
      'a.plan',
      'a.run',
      'a.verify',
      'b.plan',
      'b.run',
      'b.verify',
      'c.plan',
      'c.run',
      'c.verify',
      'd.plan',
      'd.run',
      'd.undo',
      'c.undo',
      'a.undo',
    ]);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).step).toBe('d');
    expect(err.message).toBe('boom');
    expect(err.reports!.map((r) => `${r.id}:${r.status}`)).toEqual([
      'a:done',
      'b:done',
      'c:done',
      'd:failed',
      'undo d:undone',
      'undo c:undone',
      'undo a:undone',
    ]);
  });

  it('a failed verify fails the step and undoes it too', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    const err = await failure(runSteps([fake('a', calls), fake('b', calls, { verifyThrows: new Error('not healthy') })], ctx));
    expect(calls).toEqual(['a.plan', 'a.run', 'a.verify', 'b.plan', 'b.run', 'b.verify', 'b.undo', 'a.undo']);
    expect((err as StepFailed).step).toBe('b');
    expect(err.message).toBe('not healthy');
  });

  it('a failed plan stops before the step started: earlier steps are undone, the step itself is not', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    const err = await failure(runSteps([fake('a', calls), fake('b', calls, { planThrows: new Error('cannot read'), cleanup: true })], ctx));
    expect(calls).toEqual(['a.plan', 'a.run', 'a.verify', 'b.plan', 'a.undo']);
    expect((err as StepFailed).step).toBe('b');
    expect(err.reports!.map((r) => `${r.id}:${r.status}`)).toEqual(['a:done', 'b:failed', 'undo a:undone']);
  });

  it('an undo that fails is reported and the other undos still run; the original error is kept', async () => {
    const { ctx, log } = makeCtx();
    const calls: string[] = [];
    const a = fake('a', calls);
    const b = fake('b', calls);
    b.undo = async () => {
      calls.push('b.undo');
      throw new Error('undo broke');
    };
    const err = await failure(runSteps([a, b, fake('c', calls, { runThrows: new Error('boom') })], ctx));
    expect(calls.slice(-3)).toEqual(['c.undo', 'b.undo', 'a.undo']);
    expect(err.message).toBe('boom');
    expect(err.reports!.find((r) => r.id === 'undo b')!.status).toBe('failed');
    expect(log()).toContain('fail  undo b');
  });

  it('calls cleanup of every started step, in reverse, after success', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    await runSteps([fake('a', calls, { cleanup: true }), fake('b', calls), fake('c', calls, { cleanup: true })], ctx);
    expect(calls.filter((c) => c.endsWith('.cleanup'))).toEqual(['c.cleanup', 'a.cleanup']);
    expect(calls.at(-1)).toBe('a.cleanup');
  });

  it('calls cleanup of every started step after a failure, after the undos, and not of steps never reached', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    await failure(
      runSteps(
        [fake('a', calls, { cleanup: true }), fake('b', calls, { cleanup: true, runThrows: new Error('boom') }), fake('c', calls, { cleanup: true })],
        ctx,
      ),
    );
    expect(calls).toEqual(['a.plan', 'a.run', 'a.verify', 'b.plan', 'b.run', 'b.undo', 'a.undo', 'b.cleanup', 'a.cleanup']);
  });

  it('a failing cleanup is a warning: the others run and the deploy still succeeds', async () => {
    const { ctx, log } = makeCtx();
    const calls: string[] = [];
    const reports = await runSteps([fake('a', calls, { cleanup: true }), fake('b', calls, { cleanupThrows: new Error('stuck') })], ctx);
    expect(reports.every((r) => r.status === 'done')).toBe(true);
    expect(calls.slice(-2)).toEqual(['b.cleanup', 'a.cleanup']);
    expect(log()).toContain('warn  cleanup of b failed: stuck');
  });

  it('turns a CommandFailed into a StepFailed naming the step, with the tail', async () => {
    const { ctx } = makeCtx();
    const cmd = new CommandFailed('npm run build', 2, 'line 1\nerror TS2304: Cannot find name', { hint: 'fix the build' });
    const err = await failure(runSteps([fake('build-frontend', [], { runThrows: cmd })], ctx));
    expect(err).toBeInstanceOf(StepFailed);
    const sf = err as StepFailed;
    expect(sf.step).toBe('build-frontend');
    expect(sf.message).toBe('`npm run build` exited with 2');
    expect(sf.tail).toBe('line 1\nerror TS2304: Cannot find name');
    expect(sf.hint).toBe('fix the build');
    expect(sf.cause).toBe(cmd);
    expect(exitCodeOf(sf)).toBe(EXIT.failed);
  });

  it('keeps a StepFailed thrown by a step as it is', async () => {
    const { ctx } = makeCtx();
    const own = new StepFailed('pm2', 'PM2 runs shop from elsewhere');
    const err = await failure(runSteps([fake('pm2', [], { runThrows: own })], ctx));
    expect(err).toBe(own);
  });

  it('keeps a LockedError (exit 3) and a UsageError (exit 2) instead of wrapping them', async () => {
    const { ctx } = makeCtx();
    const locked = new LockedError('another deploy holds the lock');
    const err = await failure(runSteps([fake('lock', [], { runThrows: locked })], ctx));
    expect(err).toBe(locked);
    expect(exitCodeOf(err)).toBe(EXIT.locked);
    expect(err.reports).toBeDefined();

    const usage = new UsageError('bad release id');
    const err2 = await failure(runSteps([fake('x', [], { planThrows: usage })], makeCtx().ctx));
    expect(err2).toBe(usage);
    expect(exitCodeOf(err2)).toBe(EXIT.usage);
  });

  it('names the errno code of a file-system error', async () => {
    const { ctx } = makeCtx();
    const fsErr = Object.assign(new Error("EACCES: permission denied, mkdir '/srv/shop/releases'"), { code: 'EACCES', path: '/srv/shop/releases' });
    const err = await failure(runSteps([fake('prepare', [], { runThrows: fsErr })], ctx));
    expect(err).toBeInstanceOf(StepFailed);
    expect(err.message).toMatch(/^EACCES: /);
    expect(exitCodeOf(err)).toBe(EXIT.failed);
  });

  it('an interrupt before the switch stops with Interrupted before the next step, and undoes what ran', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    const steps = [
      fake('a', calls, { cleanup: true }),
      fake('b', calls, {
        onRun: (c) => {
          c.interrupt.requested = true;
          c.interrupt.signal = 'SIGINT';
        },
      }),
      fake('c', calls),
    ];
    const err = await failure(runSteps(steps, ctx));
    expect(err).toBeInstanceOf(Interrupted);
    expect(err.message).toBe('stopped by SIGINT before c');
    expect(calls).not.toContain('c.plan');
    expect(calls.slice(-3)).toEqual(['b.undo', 'a.undo', 'a.cleanup']);
  });

  it('an interrupt that makes a running step fail is reported as Interrupted, not as the step error', async () => {
    const { ctx } = makeCtx();
    const err = await failure(
      runSteps(
        [
          fake('build-frontend', [], {
            onRun: (c) => {
              c.interrupt.requested = true;
              c.interrupt.signal = 'SIGTERM';
            },
            runThrows: new CommandFailed('npm run build', undefined, ''),
          }),
        ],
        ctx,
      ),
    );
    expect(err).toBeInstanceOf(Interrupted);
    expect(err.message).toBe('stopped by SIGTERM during build-frontend');
  });

  it('after the switch, an interrupt does not stop the remaining steps', async () => {
    const { ctx } = makeCtx();
    const calls: string[] = [];
    const steps = [
      fake('switch', calls, {
        onRun: (c) => {
          c.switched = true;
          c.interrupt.requested = true;
          c.interrupt.signal = 'SIGINT';
        },
      }),
      fake('pm2', calls),
      fake('verify', calls),
    ];
    const reports = await runSteps(steps, ctx);
    expect(reports.map((r) => r.status)).toEqual(['done', 'done', 'done']);
    expect(calls).toContain('verify.verify');
  });
});

describe('planSteps (dry run)', () => {
  it('runs only the plans, changes nothing on the host, and reports each plan', async () => {
    const { ctx, host, log } = makeCtx();
    const calls: string[] = [];
    const reading: Step = {
      id: 'reads',
      async plan(c) {
        calls.push('reads.plan');
        await c.host.readFile(c.paths.lock);
        await c.host.stat(c.paths.current);
        await c.host.readdir(c.paths.releases);
        return { summary: 'look around' };
      },
      async run(c) {
        calls.push('reads.run');
        await c.host.writeFile(c.paths.lock, 'x');
      },
    };
    const reports = await planSteps([reading, fake('a', calls, { cleanup: true }), fake('b', calls, { skip: 'not configured' })], ctx);
    expect(calls).toEqual(['reads.plan', 'a.plan', 'b.plan']);
    const mutations = ['writeFile', 'createExclusive', 'mkdir', 'remove', 'rename', 'symlink', 'symlinkAtomic', 'upload', 'exec', 'shell', 'spawn'];
    expect(host.calls.filter((c) => mutations.includes(c.method))).toEqual([]);
    expect(host.files.size).toBe(0);
    expect(host.links.size).toBe(0);
    expect(reports).toEqual([
      { id: 'reads', status: 'planned', ms: 0, note: 'look around', actions: undefined },
      { id: 'a', status: 'planned', ms: 0, note: 'do a', actions: ['a action'] },
      { id: 'b', status: 'skipped', ms: 0, note: 'not configured', actions: undefined },
    ]);
    expect(log()).toContain('info  a: do a');
    expect(log()).toContain('info      a action');
    expect(log()).toContain('skip  b — not configured');
    expect(ctx.timings).toEqual({});
  });
});
