/**
 * `nginx site`: does the Nginx config zdd tests serve this app — `root <deployTo>/current/frontend`
 * when there is a frontend, a proxy_pass reaching backend.port when there is a backend? Read with
 * src/nginx/site.ts from the same text the deploy hashes, so the row names the file and line to
 * change. A site zdd cannot identify is a `!`, never a ✗: doctor does not guess which server block
 * is the app's.
 */
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import { at, siteFindings, siteOf, type NginxSite } from '../nginx/site.js';
import { row, type Check } from './check.js';

function describe(site: NginxSite): string {
  const names = site.servers.map((s) => `${s.names.find((n) => n && n !== '_') ?? s.listen[0]?.raw ?? 'server'} (${at(s.where)})`);
  const parts = [`server ${names.join(', ')}`];
  const root = site.roots.find((r) => r.path.endsWith('/current/frontend'));
  if (root) parts.push(`serves ${root.path}`);
  const p = site.proxies.find((x) => x.port !== undefined);
  if (p) parts.push(`proxies ${p.location} to ${p.address}:${p.port}`);
  return parts.join(', ');
}

export function siteRow(name: string, config: ZddConfig, text: string): Check {
  const expect = { deployTo: config.deployTo, port: config.backend?.port, frontend: Boolean(config.frontend), app: config.app };
  if (!config.frontend && !config.backend) return row(name, 'ok', 'nothing to serve');
  const site = siteOf(text, expect, { files: config.nginx?.config.map((f) => f) });
  if (!site.servers.length) {
    const looked = [
      config.frontend ? `root ${path.posix.join(config.deployTo, 'current', 'frontend')}` : '',
      config.backend ? `proxy_pass to port ${config.backend.port}` : '',
    ].filter(Boolean);
    return row(
      name,
      'warn',
      `could not tell which of its ${site.all.length} server block${site.all.length === 1 ? '' : 's'} serves this app (none has ${looked.join(' or a ')}); not checked`,
      'zdd init writes a site for this app (nginx-site.conf): include it from the http block',
    );
  }
  const findings = siteFindings(site, expect);
  if (findings.length) {
    return row(name, 'fail', findings.map((f) => f.problem).join('; '), findings.map((f) => f.fix).join('; '));
  }
  if (config.backend && !site.proxies.length) {
    return row(
      name,
      'warn',
      `${describe(site)}; no location of it proxies to the backend (port ${config.backend.port})`,
      `if the app's API should go through this site, add a location with proxy_pass http://127.0.0.1:${config.backend.port}`,
    );
  }
  return row(name, 'ok', describe(site));
}
