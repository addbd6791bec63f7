/**
 * Where the deploy's request through Nginx goes (trafficPlan), read from configs as `nginx -T`
 * prints them, and which answers are Nginx failing to reach the backend (nginxFailure).
 */
import { describe, expect, it } from 'vitest';
import { locationMatches, nginxFailure, trafficPlan } from '../../src/nginx/traffic.js';

const expect3100 = { deployTo: '/srv/shop', port: 3100, healthPath: '/healthz', frontend: true };

const dump = (site: string) => `# configuration file /etc/nginx/nginx.conf:
events {}
http {
    include /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/sites-enabled/shop.conf:
${site}
`;

const SITE = (port: number, extra = '') => `upstream shop_backend {
    server 127.0.0.1:${port};
}
server {
    listen 127.0.0.1:8080;
    server_name shop.example.com www.shop.example.com;
    root /srv/shop/current/frontend;
    location /api/ {
        proxy_pass http://shop_backend;
    }
    location / {
        try_files $uri /index.html;
    }
${extra}}`;

describe('trafficPlan', () => {
  it('an upstream on backend.port: a path under the proxied prefix, at the listen address, with the server_name as Host', () => {
    expect(trafficPlan(dump(SITE(3100)), expect3100)).toEqual({
      kind: 'target',
      target: { url: 'http://127.0.0.1:8080/api/', host: 'shop.example.com', location: '/api/', via: 'upstream shop_backend (127.0.0.1:3100)' },
    });
  });

  it('the health path when a proxied location serves it (exact location), on the default port 80', () => {
    const site = `server {
    server_name _;
    root /srv/shop/current/frontend;
    location = /healthz { proxy_pass http://127.0.0.1:3100; }
    location /api/ { proxy_pass http://127.0.0.1:3100/; }
}`;
    expect(trafficPlan(dump(site), expect3100)).toEqual({
      kind: 'target',
      target: { url: 'http://127.0.0.1/healthz', host: undefined, location: '= /healthz', via: '127.0.0.1:3100' },
    });
  });

  it('`listen 8080` and `listen [::]:80`: the loopback address of their family', () => {
    const one = (listen: string) => `server { listen ${listen}; location / { proxy_pass http://localhost:3100; } }`;
    expect(trafficPlan(dump(one('8080')), { ...expect3100, frontend: false })).toMatchObject({ target: { url: 'http://127.0.0.1:8080/healthz' } });
    expect(trafficPlan(dump(one('[::]:80')), { ...expect3100, frontend: false })).toMatchObject({ target: { url: 'http://[::1]/healthz' } });
  });

  it('an upstream on another port than backend.port: wrong-port, naming the location, the address, the port and the line', () => {
    const p = trafficPlan(dump(SITE(3000)), expect3100);
    expect(p).toEqual({
      kind: 'wrong-port',
      message:
        'nginx proxies /api/ to 127.0.0.1:3000 (upstream shop_backend), but backend.port is 3100: every /api request is a 502 — change the port to 3100 in /etc/nginx/sites-enabled/shop.conf:2',
    });
  });

  it('cannot tell: no site, no proxy, a unix socket, only ssl — each says why', () => {
    const other = 'server { listen 80; server_name other.example.com; root /var/www/other; }\nserver { listen 81; root /var/www/x; }';
    expect(trafficPlan(dump(other), expect3100)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('no server block') });
    const noProxy = 'server { listen 80; root /srv/shop/current/frontend; }';
    expect(trafficPlan(dump(noProxy), expect3100)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('no location that proxies') });
    const socket = 'server { listen 80; root /srv/shop/current/frontend; location /api/ { proxy_pass http://unix:/run/shop.sock:/; } }';
    expect(trafficPlan(dump(socket), expect3100)).toMatchObject({ kind: 'unknown', reason: 'the site proxies to a unix socket' });
    const ssl = 'server { listen 443 ssl; root /srv/shop/current/frontend; location /api/ { proxy_pass http://127.0.0.1:3100; } }';
    expect(trafficPlan(dump(ssl), expect3100)).toMatchObject({ kind: 'unknown', reason: 'the site listens only with ssl' });
  });

  it('a second listen without ssl is used when the first has it', () => {
    const both = 'server { listen 443 ssl; listen 8081; root /srv/shop/current/frontend; location /api/ { proxy_pass http://127.0.0.1:3100; } }';
    expect(trafficPlan(dump(both), expect3100)).toMatchObject({ kind: 'target', target: { url: 'http://127.0.0.1:8081/api/' } });
  });
});

describe('locationMatches', () => {
  it('prefix, ^~, exact, regex, case-insensitive regex, named', () => {
    expect(locationMatches('/api/', '/api/health')).toBe(true);
    expect(locationMatches('^~ /api/', '/healthz')).toBe(false);
    expect(locationMatches('= /healthz', '/healthz')).toBe(true);
    expect(locationMatches('= /healthz', '/healthz/x')).toBe(false);
    expect(locationMatches('~ ^/(api|healthz)', '/healthz')).toBe(true);
    expect(locationMatches('~* ^/API', '/api/x')).toBe(true);
    expect(locationMatches('@backend', '/healthz')).toBe(false);
  });
});

describe('nginxFailure', () => {
  const page = (code: string) =>
    `<html>\r\n<head><title>${code}</title></head>\r\n<body>\r\n<center><h1>${code}</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n`;
  it("Nginx's own 502/503/504 page is a failure; the backend's answers (any status) are not", () => {
    expect(nginxFailure(502, page('502 Bad Gateway'))).toBe('502 Bad Gateway from Nginx itself (it could not reach the backend)');
    expect(nginxFailure(504, page('504 Gateway Time-out'))).toContain('504 Gateway Time-out');
    expect(nginxFailure(503, '{"status":"warming up"}')).toBeUndefined();
    expect(nginxFailure(404, page('404 Not Found'))).toBeUndefined();
    expect(nginxFailure(200, 'ok')).toBeUndefined();
  });
});
