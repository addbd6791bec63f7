// Apps nobody here wrote, deployed as they are: the Express skeleton of express-generator (from the
// npm registry, at test time), unmodified (no `ready`, no SIGINT handler) and with the classic
// `server.close(() => process.exit(0))` on SIGINT. zdd's reload safety makes both reload-safe with no
// change to their code: the default waitReady passes the canary, and deploys and rollbacks under
// the three loads (POSTs through Nginx, keep-alive GETs at backend.port, GETs through Nginx) lose
// nothing. Each variant runs on a site of its own.
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setVersion } from '../helpers/example.js';
import { makeSite, type Site } from '../helpers/site.js';
import { expressBackendConfig, writeExpressBackend, type ExpressVariant } from '../helpers/third-party.js';

const cases: { variant: ExpressVariant; mode: RegExp }[] = [
  { variant: 'unmodified', mode: /reload-safe by zdd's reload safety \(ready: zdd; drain on SIGINT: zdd\)/ },
  { variant: 'own-close', mode: /reload-safe by the app's own handling \(ready: zdd; shutdown: the app's own handler/ },
];

describe.each(cases)('the Express skeleton, $variant', ({ variant, mode }) => {
  let site: Site;
  afterAll(async () => {
    await site?.stop();
  });

  const currentId = async () => (await readlink(join(site.deployTo, 'current'))).replace('releases/', '');

  it('deploys with the default waitReady, then deploys and rolls back under load with no failed request', async () => {
    site = await makeSite({ version: 'e1', config: { backend: { ...expressBackendConfig, killTimeout: 8000 } } });
    await writeExpressBackend(join(site.app, 'backend'), variant, 'e1');
    const first = await site.zdd(['deploy']);
    expect(first.exitCode, first.all).toBe(0);
    expect(first.all).toMatch(mode);
    const firstId = await currentId();
    expect(await site.served()).toMatchObject({ api: 'e1', release: firstId });
    await new Promise((r) => setTimeout(r, 1500)); // the first deploy reloaded Nginx

    const { value, report } = await site.underLoad(async () => {
      await setVersion(site.app, 'e2');
      const deploy = await site.zdd(['deploy']);
      const served = await site.served();
      const rollback = await site.zdd(['rollback']);
      return { deploy, served, rollback };
    });
    expect(value.deploy.exitCode, value.deploy.all).toBe(0);
    expect(value.served).toMatchObject({ api: 'e2' });
    expect(value.rollback.exitCode, value.rollback.all).toBe(0);
    expect(await currentId()).toBe(firstId);
    expect(report.failed, await site.explain(report)).toBe(0);
    for (const [kind, r] of Object.entries(report.kinds)) expect(r.total, kind).toBeGreaterThan(200);
    expect(report.versions.e1).toBeGreaterThan(0);
    expect(report.versions.e2).toBeGreaterThan(0);

    if (variant === 'own-close') {
      // The app's own shutdown code still ran, after the drain, in every old worker.
      const logs = await readFile(join(site.pm2.home, 'logs', 'shop-out.log'), 'utf8');
      expect(logs).toMatch(/own handler: closed, cleanup done/);
    }
  }, 240_000);
});
