/**
 * The site's traffic through Nginx, on a RecordingHost: nginx-test stops a deploy whose Nginx site
 * proxies to another port than backend.port (before the switch, nothing changed); the traffic step
 * sends one GET through the listen address with the server's Host and fails on Nginx's own 502 page.
 */
import { describe, expect, it } from 'vitest';
import { StepFailed } from '../../../src/core/errors.js';
import { nginxTest } from '../../../src/steps/nginx-test.js';
import { traffic } from '../../../src/steps/traffic.js';
import path from 'node:path';
import { BACKEND, PROJECT, callsTo, mutations, planAndRun, put, stepConfig, stepContext } from '../../helpers/steps.js';

const site = (port: number) => `upstream shop_backend { server 127.0.0.1:${port}; }
server {
    listen 127.0.0.1:8080;
    server_name shop.example.com;
    root /srv/shop/current/frontend;
    location /api/ { proxy_pass http://shop_backend; }
}
`;

const BAD_GATEWAY = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';

function withSite(port: number, command: 'deploy' | 'rollback' = 'deploy') {
  const s = stepContext({ command, config: stepConfig({ backend: { ...BACKEND }, nginx: { test: 'nginx -t', reload: 'nginx -s reload' } }) });
  s.host.respond = (cmd) => (cmd === 'nginx -t -T' ? { stdout: site(port) } : undefined);
  return s;
}

describe('nginx-test: where the site proxies', () => {
  it('an upstream on backend.port passes and says where it proxies', async () => {
    const { ctx } = withSite(4100);
    expect((await planAndRun(nginxTest, ctx)).note).toBe('config test passes; the site proxies /api/ to upstream shop_backend (127.0.0.1:4100)');
  });

  it('an upstream on another port fails the deploy before the switch, naming the line; only read-only commands ran', async () => {
    const { ctx, host } = withSite(3000);
    const err = await planAndRun(nginxTest, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect(err.step).toBe('nginx-test');
    expect(err.message).toContain('nginx proxies /api/ to 127.0.0.1:3000 (upstream shop_backend), but backend.port is 4100: every /api request is a 502');
    expect(mutations(host)).toEqual(['shell nginx -t', 'shell nginx -t -T']);
    expect(callsTo(host, 'shell').every((c) => (c[1] as { readOnly?: boolean }).readOnly)).toBe(true);
  });

  it('a rollback only warns (it must be able to move away from a bad release)', async () => {
    const { ctx, log } = withSite(3000, 'rollback');
    expect((await planAndRun(nginxTest, ctx)).note).toMatch(/another port than backend\.port/);
    expect(log()).toContain('backend.port is 4100');
  });

  it('a test command that is not nginx: the proxies are not checked, and it says so', async () => {
    const s = stepContext({ config: stepConfig({ backend: { ...BACKEND }, nginx: { test: 'true', reload: 'true' } }) });
    expect((await planAndRun(nginxTest, s.ctx)).note).toMatch(/^config test passes; where the site proxies not checked: cannot read the Nginx config/);
  });
});

describe('traffic', () => {
  it('one GET through the listen address with the Host of the server block; the backend answering passes', async () => {
    const { ctx, host } = withSite(4100);
    host.http = () => ({ status: 404, body: 'Cannot GET /api/' });
    const { note } = await planAndRun(traffic, ctx);
    expect(note).toBe('GET http://127.0.0.1:8080/api/ (Host: shop.example.com) reached the backend through /api/ (answered 404)');
    expect(callsTo(host, 'httpGet')).toEqual([['http://127.0.0.1:8080/api/', { headers: { host: 'shop.example.com' } }]]);
  });

  it("Nginx's own 502 page fails the step (the runner switches back), naming where it proxies", async () => {
    const { ctx, host } = withSite(4100);
    host.http = () => ({ status: 502, body: BAD_GATEWAY });
    const err = await planAndRun(traffic, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect(err.step).toBe('traffic');
    expect(err.message).toContain('got 502 Bad Gateway from Nginx itself');
    expect(err.message).toContain('location /api/ proxies to upstream shop_backend (127.0.0.1:4100)');
  }, 15_000);

  it('Nginx not answering at all: a warning, not a failure (switching back would not mend it)', async () => {
    const { ctx, host, log } = withSite(4100);
    host.http = () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:8080');
    };
    expect((await planAndRun(traffic, ctx)).note).toBe('not checked: Nginx did not answer at http://127.0.0.1:8080/api/');
    expect(log()).toContain('ECONNREFUSED');
  });

  it('cannot tell the address (no proxy in the site): skipped, saying why', async () => {
    const s = stepContext({ config: stepConfig({ backend: { ...BACKEND }, nginx: { test: 'nginx -t', reload: 'nginx -s reload' } }) });
    s.host.respond = (cmd) =>
      cmd === 'nginx -t -T' ? { stdout: 'server { listen 80; server_name shop.example.com; root /srv/shop/current/frontend; }' } : undefined;
    expect((await planAndRun(traffic, s.ctx)).plan.skip).toBe(
      'cannot tell where Nginx serves the site: the site has no location that proxies (proxy_pass) to the backend; not checked',
    );
    expect(callsTo(s.host, 'httpGet')).toEqual([]);
  });

  it('with nginx.config: the site is read from those files (no nginx -T)', async () => {
    const s = stepContext({
      config: stepConfig({ backend: { ...BACKEND }, nginx: { test: 'nginx -t', reload: 'nginx -s reload', config: ['deploy/site.conf'] } }),
    });
    put(s.host, path.join(PROJECT, 'deploy', 'site.conf'), site(4100).replace('listen 127.0.0.1:8080;', 'listen 8443 ssl;\n    listen 8081;'));
    const { plan } = await planAndRun(traffic, { ...s.ctx });
    expect(plan.found).toEqual({
      url: 'http://127.0.0.1:8081/api/',
      host: 'shop.example.com',
      location: '/api/',
      via: 'upstream shop_backend (127.0.0.1:4100)',
    });
    expect(s.host.commands()).toEqual([]);
  });
});
