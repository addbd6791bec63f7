/**
 * nginx-test and nginx-reload on a RecordingHost. `nginx -t -T` (the whole configuration) is
 * answered by the host's rules; the reload happens only when its hash differs from the one zdd
 * stored after its last reload, and the new hash is stored.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandFailed } from '../../../src/core/errors.js';
import type { ExecOptions } from '../../../src/host/types.js';
import { nginxReload } from '../../../src/steps/nginx-reload.js';
import { nginxTest } from '../../../src/steps/nginx-test.js';
import { PROJECT, callsTo, mutations, planAndRun, put, stepConfig, stepContext } from '../../helpers/steps.js';

const CONF = 'server { listen 80; root /srv/shop/current/frontend; }\n';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function withNginx(nginx: Record<string, unknown> = {}, conf = CONF) {
  const s = stepContext({ config: stepConfig({ nginx: { test: 'nginx -t', reload: 'nginx -s reload', ...nginx } }) });
  s.host.respond = (cmd) => (cmd === 'nginx -t -T' ? { stdout: conf } : undefined);
  return { ...s, hashFile: path.join(s.paths.state, 'nginx.sha256') };
}

describe('nginx-test', () => {
  it('runs nginx.test in the deploy root, read-only (it also runs under --dry-run)', async () => {
    const { ctx, host, paths } = withNginx();
    const { plan } = await planAndRun(nginxTest, ctx);
    expect(plan.summary).toBe('nginx -t');
    expect(callsTo(host, 'shell')).toEqual([['nginx -t', expect.objectContaining({ cwd: paths.root, readOnly: true })]]);
  });

  it('a failing test throws (the deploy stops before the switch)', async () => {
    const { ctx, host } = withNginx();
    host.respond = () => ({ exitCode: 1, all: 'nginx: [emerg] unexpected "}"' });
    await expect(planAndRun(nginxTest, ctx)).rejects.toBeInstanceOf(CommandFailed);
  });

  it('skips without nginx', async () => {
    const { ctx, host } = stepContext();
    expect((await planAndRun(nginxTest, ctx)).plan.skip).toBe('no nginx configured');
    expect(mutations(host)).toEqual([]);
  });
});

describe('nginx-reload', () => {
  it('skips when the config is unchanged since the last reload (same hash), running no reload', async () => {
    const { ctx, host, hashFile } = withNginx();
    put(host, hashFile, `${sha(CONF)}\n`);
    const { plan } = await planAndRun(nginxReload, ctx);
    expect(plan.skip).toBe('config unchanged; the switch of current needs no reload');
    expect(host.commands()).toEqual(['nginx -t -T']);
    expect(callsTo(host, 'writeFile')).toEqual([]);
  });

  it('reloads when the config changed, then stores the new hash', async () => {
    const { ctx, host, paths, hashFile } = withNginx();
    put(host, hashFile, `${sha('an older config')}\n`);
    const { plan, note } = await planAndRun(nginxReload, ctx);
    expect(plan.found).toMatchObject({ reload: true, hash: sha(CONF) });
    expect(note).toBe('the Nginx config changed since the last reload');
    expect(host.commands()).toEqual(['nginx -t -T', 'nginx -s reload']);
    expect((callsTo(host, 'shell')[1]![1] as ExecOptions).cwd).toBe(paths.root);
    expect(host.files.get(hashFile)).toBe(`${sha(CONF)}\n`);
    expect(mutations(host).at(-1)).toBe(`writeFile ${hashFile}`);
  });

  it('reloads once on the first deploy with zdd (no hash stored yet)', async () => {
    const { ctx, host, hashFile } = withNginx();
    const { note } = await planAndRun(nginxReload, ctx);
    expect(note).toMatch(/^first deploy with zdd/);
    expect(host.commands()).toContain('nginx -s reload');
    expect(host.files.get(hashFile)).toBe(`${sha(CONF)}\n`);
  });

  it('watches the files in nginx.config when set (read through the host)', async () => {
    const { ctx, host, hashFile } = withNginx({ config: ['nginx/site.conf'] });
    const file = path.join(PROJECT, 'nginx', 'site.conf');
    put(host, file, CONF);
    const text = `# nginx/site.conf\n${CONF}`;
    put(host, hashFile, `${sha(text)}\n`);
    expect((await planAndRun(nginxReload, ctx)).plan.skip).toMatch(/^config unchanged/);
    host.files.set(file, `${CONF}# edited\n`);
    const { note } = await planAndRun(nginxReload, ctx);
    expect(note).toBe('the Nginx config changed since the last reload');
    expect(host.commands()).toEqual(['nginx -s reload']);
  });

  it('reloads every time with nginx.reloadAlways', async () => {
    const { ctx, host, hashFile } = withNginx({ reloadAlways: true });
    put(host, hashFile, `${sha(CONF)}\n`);
    expect((await planAndRun(nginxReload, ctx)).note).toBe('nginx.reloadAlways is set');
    expect(host.commands()).toEqual(['nginx -t -T', 'nginx -s reload']);
  });

  it('skips without nginx', async () => {
    const { ctx, host } = stepContext();
    expect((await planAndRun(nginxReload, ctx)).plan.skip).toBe('no nginx configured');
    expect(host.calls).toEqual([]);
  });
});
