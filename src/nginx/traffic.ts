/**
 * One request through the Nginx that serves the site, to the backend: where to send it, and whether
 * the answer came from the backend or from Nginx failing to reach it. Read from the same `nginx -T`
 * text as the reload decision (readNginxConfig), through doctor's reading of the site (site.ts), so
 * a deploy and `zdd doctor` agree on which server block is the app's. Pure: text in, data out.
 */
import type { DeployContext } from '../core/types.js';
import { readNginxConfig } from './config.js';
import { at, localUrl, type Proxy as SiteProxy, type SiteServer, siteOf } from './site.js';

export interface TrafficExpectation {
  deployTo: string;
  /** backend.port */
  port: number;
  /** healthcheck.path */
  healthPath: string;
  frontend: boolean;
  /** The app's name: a site named for it (file, server_name, upstream) is its own (site.ts siteOf). */
  app?: string;
  /** nginx.config (zdd's join of those files names each one under `# <file>`). */
  files?: string[];
}

/** Where to ask: the URL of a listen address, the Host header its server block answers, the location. */
export interface TrafficTarget {
  url: string;
  host?: string;
  /** The location the request goes through (`/api/`, `= /healthz`). */
  location: string;
  /** Where it proxies (`127.0.0.1:3100`, `upstream zdd_backend`). */
  via: string;
}

export type TrafficPlan =
  | { kind: 'target'; target: TrafficTarget }
  /** Nginx proxies the site to another port than backend.port: every request there is a 502. */
  | { kind: 'wrong-port'; message: string }
  /** zdd cannot tell where to send the request (why, as a phrase). */
  | { kind: 'unknown'; reason: string };

const stripMod = (location: string) => location.replace(/^(=|\^~|~\*?)\s*/, '');

/** Does a request for `p` go through `location` (as far as one location alone tells)? */
export function locationMatches(location: string, p: string): boolean {
  const m = /^(=|\^~|~\*?)?\s*(.*)$/.exec(location.trim())!;
  const [mod, arg = ''] = [m[1], m[2]!];
  if (arg.startsWith('@')) return false;
  if (mod === '=') return p === arg;
  if (mod === '~' || mod === '~*') {
    try {
      return new RegExp(arg, mod === '~*' ? 'i' : '').test(p);
    } catch {
      return false;
    }
  }
  return p.startsWith(arg);
}

/** A path under `location` when it is a plain or exact one (`/api/` -> `/api/`); undefined for a regex or named one. */
function pathUnder(location: string): string | undefined {
  const m = /^(=|\^~|~\*?)?\s*(.*)$/.exec(location.trim())!;
  if (m[1] === '~' || m[1] === '~*' || !m[2]!.startsWith('/')) return undefined;
  return m[2];
}

/** The name to send as Host: the first server_name that is a plain name (not `_`, a wildcard or a regex). */
function hostName(s: SiteServer): string | undefined {
  return s.names.find((n) => n && n !== '_' && !n.startsWith('~') && !n.includes('*'));
}

/** "every /api request", "every request" — what a proxy on the wrong port breaks. */
function everyRequest(location: string): string {
  const p = pathUnder(location);
  if (p === undefined || p === '/') return 'every request';
  return `every ${p.replace(/\/+$/, '')} request`;
}

/**
 * Where the check goes, or why it cannot be told. A site whose every known proxy reaches another port
 * than backend.port is `wrong-port`: that is known from the config alone, before any traffic moves.
 */
export function trafficPlan(text: string, expect: TrafficExpectation): TrafficPlan {
  const site = siteOf(text, { deployTo: expect.deployTo, port: expect.port, frontend: expect.frontend, app: expect.app }, { files: expect.files });
  if (!site.servers.length)
    return {
      kind: 'unknown',
      reason: `no server block of the Nginx config is this app's (none serves ${expect.deployTo}/current/frontend or proxies to port ${expect.port})`,
    };
  // site.ts reads `http://unix:/run/a.sock:/` as the host `unix`: the target tells a socket.
  const socket = (p: SiteProxy) => /^(https?:\/\/)?unix:/.test(p.target);
  const tcp = (p: SiteProxy) => p.port !== undefined && !socket(p);
  const known = site.proxies.filter(tcp);
  const ours = known.filter((p) => p.port === expect.port);
  if (!ours.length) {
    if (known.length) {
      const p = known[0]!;
      const via = p.upstream ? ` (upstream ${p.upstream})` : '';
      return {
        kind: 'wrong-port',
        message: `nginx proxies ${stripMod(p.location)} to ${p.address}:${p.port}${via}, but backend.port is ${expect.port}: ${everyRequest(p.location)} is a 502 — change the port to ${expect.port} in ${at(p.where)}`,
      };
    }
    if (site.proxies.some(socket)) return { kind: 'unknown', reason: 'the site proxies to a unix socket' };
    if (site.proxies.length) return { kind: 'unknown', reason: `the site's proxy_pass (${site.proxies[0]!.target}) names no port zdd can read` };
    return { kind: 'unknown', reason: 'the site has no location that proxies (proxy_pass) to the backend' };
  }
  // The health path when a proxy to backend.port serves it, else a path under such a location.
  const health = ours.find((p) => locationMatches(p.location, expect.healthPath));
  const chosen = health ?? ours.find((p) => pathUnder(p.location) !== undefined);
  if (!chosen)
    return {
      kind: 'unknown',
      reason: `the locations that proxy to port ${expect.port} are regular expressions (${ours[0]!.location}); zdd cannot pick a path`,
    };
  const server = site.servers.find((s) => s.proxies.includes(chosen))!;
  const listen = server.listen.find((l) => !l.ssl && l.port !== undefined);
  if (!listen) {
    const why = server.listen.some((l) => l.port !== undefined) ? 'the site listens only with ssl' : 'the site listens on a unix socket';
    return { kind: 'unknown', reason: why };
  }
  const reqPath = health ? expect.healthPath : pathUnder(chosen.location)!;
  return {
    kind: 'target',
    target: {
      url: `${localUrl(listen)}${reqPath}`,
      host: hostName(server),
      location: chosen.location,
      via: chosen.upstream ? `upstream ${chosen.upstream} (${chosen.address}:${chosen.port})` : `${chosen.address}:${chosen.port}`,
    },
  };
}

/** Nginx's own error page (`<center>nginx</center>`, `<center>nginx/1.24.0</center>`). */
const NGINX_PAGE = /<center>\s*nginx(\/[\w.]+)?\s*<\/center>/i;

/**
 * Why the answer is Nginx failing to reach the backend ("502 Bad Gateway from Nginx itself"), or
 * undefined when it came from the backend (whatever its status: the backend answered).
 */
export function nginxFailure(status: number, body: string): string | undefined {
  if (![502, 503, 504].includes(status) || !NGINX_PAGE.test(body)) return undefined;
  const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1]?.trim();
  return `${title ?? status} from Nginx itself (it could not reach the backend)`;
}

/** The traffic plan for this deploy, from the config Nginx would load (`<nginx.test> -T` or nginx.config). */
export async function readTrafficPlan(ctx: DeployContext): Promise<TrafficPlan> {
  const { text, source, problem } = await readNginxConfig(ctx.host, ctx.config, ctx.paths.root);
  if (text === undefined) {
    const why = problem === 'no-dump' ? `nginx.test names no nginx to ask for \`-T\`` : `\`${source}\` failed`;
    return { kind: 'unknown', reason: `cannot read the Nginx config (${why}; set nginx.config to the site's files)` };
  }
  const c = ctx.config;
  return trafficPlan(text, {
    deployTo: ctx.paths.root,
    port: c.backend!.port,
    healthPath: c.healthcheck.path,
    frontend: c.frontend !== undefined,
    app: c.app,
    files: c.nginx!.config.length ? c.nginx!.config : undefined,
  });
}
