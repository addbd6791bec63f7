/**
 * The shared step on a RecordingHost: each shared file and folder of <deployTo>/shared is linked
 * into the release's backend folder (absolute links); a missing shared file stops it before any
 * link is made.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StepFailed } from '../../../src/core/errors.js';
import { shared } from '../../../src/steps/shared.js';
import { BACKEND, callsTo, id, mutations, planAndRun, put, stepConfig, stepContext } from '../../helpers/steps.js';

const withShared = (files: string[], dirs: string[]) => stepConfig({ backend: BACKEND, shared: { files, dirs } });

describe('shared', () => {
  it('links each shared file and folder into releases/<id>/backend, replacing what the copy brought', async () => {
    const { ctx, host, paths } = stepContext({ config: withShared(['.env', 'config/local.json'], ['uploads']), releaseId: id(2) });
    put(host, path.join(paths.shared, '.env'), 'SECRET=1');
    put(host, path.join(paths.shared, 'config', 'local.json'), '{}');
    const backend = path.join(paths.releases, id(2), 'backend');
    put(host, path.join(backend, '.env'), 'from the repository');
    const { plan } = await planAndRun(shared, ctx);
    expect(plan.summary).toBe('link .env, config/local.json, uploads');
    expect(callsTo(host, 'symlink')).toEqual([
      [path.join(paths.shared, '.env'), path.join(backend, '.env')],
      [path.join(paths.shared, 'config/local.json'), path.join(backend, 'config/local.json')],
      [path.join(paths.shared, 'uploads'), path.join(backend, 'uploads')],
    ]);
    expect(host.files.has(path.join(backend, '.env'))).toBe(false);
    expect(host.links.get(path.join(backend, '.env'))).toBe(path.join(paths.shared, '.env'));
    // The shared folder is created when missing; each link's folder too.
    expect(host.dirs.has(path.join(paths.shared, 'uploads'))).toBe(true);
    expect(host.dirs.has(path.join(backend, 'config'))).toBe(true);
    expect(mutations(host).filter((m) => m.startsWith('remove'))).toEqual(
      ['.env', 'config/local.json', 'uploads'].map((e) => `remove ${path.join(backend, e)}`),
    );
  });

  it('a missing shared file: StepFailed naming it, and no link made', async () => {
    const { ctx, host, paths } = stepContext({ config: withShared(['.env'], ['uploads']) });
    const err = await planAndRun(shared, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toBe('shared file .env is missing');
    expect((err as StepFailed).hint).toContain(path.join(paths.shared, '.env'));
    expect(mutations(host)).toEqual([]);
  });

  it('skips when nothing is shared, or without a backend', async () => {
    for (const config of [withShared([], []), stepConfig({ shared: { files: ['.env'] } })]) {
      const { ctx, host } = stepContext({ config });
      expect((await planAndRun(shared, ctx)).plan.skip).toBe('nothing shared');
      expect(mutations(host)).toEqual([]);
    }
  });
});
