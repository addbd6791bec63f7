/**
 * reloadInto on a host that is not this machine (a RecordingHost here, an SSH host later): PM2 is
 * driven through its CLI on that host, `pm2 start`/`pm2 reload <ecosystem> --only <app> --update-env`,
 * and a reload PM2 refuses as "already in progress" is waited out. (On this machine the reload goes
 * through PM2's API in-process; the e2e tests cover that path with a real daemon.)
 */
import { describe, expect, it } from 'vitest';
import type { ZddConfig } from '../../src/config/schema.js';
import { CommandFailed } from '../../src/core/errors.js';
import { RecordingHost } from '../../src/host/recording.js';
import { reloadInto } from '../../src/pm2/reload.js';
import { testContext } from '../helpers/context.js';
import { putDir } from '../helpers/steps.js';

const config = {
  app: 'shop',
  deployTo: '/srv/shop',
  keepReleases: 5,
  backend: { script: 'server.js', port: 4100, instances: 2, env: {}, waitReady: true, readyTimeout: 1500, killTimeout: 3000 },
  healthcheck: { path: '/healthz', timeout: 5000 },
} as unknown as ZddConfig;

const jlist = (n: number) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      pm_id: i,
      name: 'shop',
      pid: 100 + i,
      pm2_env: {
        status: 'online',
        exec_mode: 'cluster_mode',
        pm_exec_path: '/srv/shop/current/backend/server.js',
        restart_time: 0,
        env: { ZDD_RELEASE: '20261127100000' },
      },
    })),
  );

function hostWith(running: number, reload: (n: number) => { exitCode: number; all?: string }) {
  const host = new RecordingHost('deploy@web1');
  putDir(host, '/srv/shop/.zdd'); // the deploy root, as lock leaves it
  let reloads = 0;
  host.respond = (argv) => {
    const line = Array.isArray(argv) ? argv.join(' ') : argv;
    if (line.includes('command -v pm2')) return { stdout: '/usr/bin/pm2\n' };
    if (line.endsWith(' jlist')) return { stdout: `${jlist(running)}\n` };
    if (line.includes(' reload ')) return reload(reloads++);
    return undefined;
  };
  return host;
}

describe('reloadInto on a host that is not this machine', () => {
  it('writes the ecosystem file and reloads through the PM2 CLI there, --only the app, --update-env', async () => {
    const host = hostWith(2, () => ({ exitCode: 0 }));
    const { ctx } = testContext({ config, host });
    expect(await reloadInto(ctx, '20261127103000')).toBe('reloaded');
    expect(host.files.get('/srv/shop/ecosystem.config.cjs')).toContain('"ZDD_RELEASE": "20261127103000"');
    expect(host.commands().filter((c) => c.includes(' reload '))).toEqual(['/usr/bin/pm2 reload /srv/shop/ecosystem.config.cjs --only shop --update-env']);
  });

  it('starts the app (--only) when PM2 does not run it yet', async () => {
    const host = hostWith(0, () => ({ exitCode: 0 }));
    const { ctx } = testContext({ config, host });
    expect(await reloadInto(ctx, '20261127103000')).toBe('started');
    expect(host.commands()).toContain('/usr/bin/pm2 start /srv/shop/ecosystem.config.cjs --only shop');
  });

  it('waits out a reload PM2 says is already in progress, then reloads', async () => {
    const host = hostWith(2, (n) =>
      n === 0 ? { exitCode: 1, all: '[PM2][ERROR] Reload already in progress, please try again in 28 seconds or use --force' } : { exitCode: 0 },
    );
    const { ctx, log } = testContext({ config, host });
    expect(await reloadInto(ctx, '20261127103000')).toBe('reloaded');
    expect(host.commands().filter((c) => c.includes(' reload '))).toHaveLength(2);
    expect(log()).toMatch(/still finishing an earlier reload/);
  });

  it('surfaces any other failure as CommandFailed with the output tail', async () => {
    const host = hostWith(2, () => ({ exitCode: 1, all: '[PM2][ERROR] Process 0 not found' }));
    const { ctx } = testContext({ config, host });
    const err = await reloadInto(ctx, '20261127103000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).tail).toMatch(/not found/);
  });
});
