/**
 * Which server blocks of the Nginx config serve this app, and where they send requests: the
 * `root`s they serve, the `location`s that `proxy_pass` and the port each one reaches (through an
 * `upstream` block or directly), and the addresses they `listen` on. Read from the text that
 * `<nginx.test> -T` prints (readNginxConfig), so it is what Nginx would load, not what a file on
 * disk says. Pure: text in, data out — doctor turns it into rows, the deploy's traffic check into
 * a request, and tests feed it configs as they are.
 *
 * `nginx -T` prints each file once under a `# configuration file <path>:` header and leaves the
 * `include` lines as written, so includes are expanded here by matching their pattern against the
 * headers (in name order, as nginx does), and every directive keeps its file and line.
 */
import path from 'node:path';
import { parseNginx, type Directive, type Where } from './parse.js';

export type { Directive, Where } from './parse.js';

export interface ListenAddress {
  /** As written: `80`, `127.0.0.1:8080`, `[::]:443 ssl http2`, `unix:/run/app.sock`. */
  raw: string;
  /** `*` for every IPv4 address, `[::]` for every IPv6 one, else the host as written; `unix:/path` for a socket. */
  host: string;
  /** Undefined for a unix socket. */
  port?: number;
  ssl: boolean;
  where?: Where;
}

export interface Root {
  /** The folder, as written (quotes removed). */
  path: string;
  /** `root` or `alias`. */
  directive: 'root' | 'alias';
  /** The location it is set in (`/assets/`, `= /index.html`); undefined at server (or http) level. */
  location?: string;
  where?: Where;
}

export interface Proxy {
  /** The location (`/api/`, `= /healthz`, `~ ^/ws`). */
  location: string;
  /** The proxy_pass target as written: `http://app_backend`, `http://127.0.0.1:3000/`. */
  target: string;
  /** The upstream block it names, if any. */
  upstream?: string;
  /** Host of the server it reaches (`127.0.0.1`, `localhost`, `unix:/run/a.sock`); undefined when it cannot be told (a variable). */
  address?: string;
  port?: number;
  /** Where the address and port are written: the upstream's `server` line, or the proxy_pass line. */
  where?: Where;
}

export interface SiteServer {
  names: string[];
  listen: ListenAddress[];
  roots: Root[];
  proxies: Proxy[];
  where?: Where;
}

export interface SiteExpectation {
  /** zdd's deployTo: the site must serve `<deployTo>/current/frontend` (when `frontend` is true). */
  deployTo: string;
  /** backend.port: the site's proxies must reach it (when set). */
  port?: number;
  /** Whether the app has a frontend (default true). */
  frontend?: boolean;
}

export interface NginxSite {
  /** The server blocks taken as this app's site (empty: none could be identified). */
  servers: SiteServer[];
  /** Why these servers: `root <deployTo>/current/frontend`, `proxy_pass to port 3000`, … */
  identifiedBy?: string;
  /** Some root or alias of the site is `<deployTo>/current/frontend`. */
  servesFrontend: boolean;
  /** Every root/alias the site's servers set (locations that only proxy excluded). */
  roots: Root[];
  /** Every proxying location of the site's servers. */
  proxies: Proxy[];
  /** Every listen address of the site's servers (`*:80` when a server has none, as nginx does). */
  listen: ListenAddress[];
  /** Every server block of the config, the site's included (for messages and the traffic check). */
  all: SiteServer[];
}

const unquote = (s: string) => s.replace(/^(["'])(.*)\1$/, '$2');
const clean = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/** Parses one `listen` directive's arguments. */
export function parseListen(args: string[], where?: Where): ListenAddress {
  const raw = args.join(' ');
  const first = unquote(args[0] ?? '80');
  const ssl = args.includes('ssl');
  if (first.startsWith('unix:')) return { raw, host: first, port: undefined, ssl, where };
  if (/^\d+$/.test(first)) return { raw, host: '*', port: Number(first), ssl, where };
  const v6 = /^(\[[^\]]*\])(?::(\d+))?$/.exec(first);
  if (v6) return { raw, host: v6[1]!, port: Number(v6[2] ?? 80), ssl, where };
  const hp = /^(.*):(\d+)$/.exec(first);
  if (hp) return { raw, host: hp[1]!, port: Number(hp[2]), ssl, where };
  return { raw, host: first, port: 80, ssl, where };
}

/**
 * A URL on this machine that reaches a listen address (`http://127.0.0.1:8080`), or undefined for a
 * unix socket. Wildcards become the loopback address of their family.
 */
export function localUrl(l: ListenAddress): string | undefined {
  if (l.port === undefined) return undefined;
  const host = l.host === '*' || l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '[::]' ? '[::1]' : l.host;
  const scheme = l.ssl ? 'https' : 'http';
  const dflt = l.ssl ? 443 : 80;
  return `${scheme}://${host}${l.port === dflt ? '' : `:${l.port}`}`;
}

interface UpstreamServer {
  address: string;
  port?: number;
  where?: Where;
}

function hostPort(s: string, dfltPort: number | undefined): { address: string; port?: number } {
  if (s.startsWith('unix:')) return { address: s.replace(/:$/, '') };
  const v6 = /^(\[[^\]]*\])(?::(\d+))?$/.exec(s);
  if (v6) return { address: v6[1]!, port: v6[2] ? Number(v6[2]) : dfltPort };
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  return m ? { address: m[1]!, port: m[2] ? Number(m[2]) : dfltPort } : { address: s, port: dfltPort };
}

function upstreams(http: Directive[]): Map<string, UpstreamServer[]> {
  const map = new Map<string, UpstreamServer[]>();
  for (const d of http) {
    if (d.name !== 'upstream' || !d.block) continue;
    const servers = d.block.filter((s) => s.name === 'server' && !s.block).map((s) => ({ ...hostPort(unquote(s.args[0] ?? ''), 80), where: s.where }));
    map.set(unquote(d.args[0] ?? ''), servers);
  }
  return map;
}

function proxiesOf(location: string, target: string, ups: Map<string, UpstreamServer[]>, where?: Where): Proxy[] {
  const m = /^(https?):\/\/([^/]+)/.exec(target) ?? /^()(unix:[^:]+):?/.exec(target);
  if (!m || m[2]!.includes('$')) return [{ location, target, where }];
  const name = m[2]!;
  const up = ups.get(name);
  if (up) return up.map((s) => ({ location, target, upstream: name, address: s.address, port: s.port, where: s.where ?? where }));
  const dflt = m[1] === 'https' ? 443 : m[1] === 'http' ? 80 : undefined;
  return [{ location, target, ...hostPort(name, dflt), where }];
}

function serverOf(block: Directive, ups: Map<string, UpstreamServer[]>, inherited: Root[]): SiteServer {
  const inside = block.block ?? [];
  const names = inside.filter((d) => d.name === 'server_name').flatMap((d) => d.args.map(unquote));
  const listens = inside.filter((d) => d.name === 'listen').map((d) => parseListen(d.args, d.where));
  const own = inside.filter((d) => d.name === 'root').map((d): Root => ({ path: clean(unquote(d.args[0] ?? '')), directive: 'root', where: d.where }));
  const serverRoots = own.length ? own : inherited;
  const roots: Root[] = [];
  const proxies: Proxy[] = [];
  let servesFiles = false;
  // Locations nest; each inherits its parent's root unless it sets its own.
  const walk = (dirs: Directive[], parentRoots: Root[]) => {
    for (const d of dirs) {
      if (d.name !== 'location' || !d.block) continue;
      const location = d.args.map(unquote).join(' ');
      const pass = d.block.find((x) => x.name === 'proxy_pass');
      const set = d.block
        .filter((x) => x.name === 'root' || x.name === 'alias')
        .map((x): Root => ({ path: clean(unquote(x.args[0] ?? '')), directive: x.name as 'root' | 'alias', location, where: x.where }));
      if (pass) proxies.push(...proxiesOf(location, unquote(pass.args[0] ?? ''), ups, pass.where));
      else if (set.length) roots.push(...set);
      else if (!d.block.some((x) => x.name === 'location' || x.name === 'return')) servesFiles = true;
      walk(d.block, set.length ? set : parentRoots);
    }
  };
  walk(inside, serverRoots);
  // The server-level root counts when a location (or the server without locations) serves files with it.
  const hasLocations = inside.some((d) => d.name === 'location');
  if ((servesFiles || !hasLocations || own.length) && !inside.some((d) => d.name === 'return')) roots.unshift(...serverRoots);
  return {
    names,
    listen: listens.length ? listens : [{ raw: '(none: *:80)', host: '*', port: 80, ssl: false }],
    roots,
    proxies,
    where: block.where,
  };
}

/** Every server block of the config's http context, in order. */
export function serversOf(text: string, opts: { files?: string[] } = {}): SiteServer[] {
  const http = httpContext(parseNginx(text, opts));
  const ups = upstreams(http);
  const inherited = http.filter((d) => d.name === 'root').map((d): Root => ({ path: clean(unquote(d.args[0] ?? '')), directive: 'root', where: d.where }));
  return http.filter((d) => d.name === 'server' && d.block).map((d) => serverOf(d, ups, inherited));
}

/** The directives of the `http {}` block; a text without one (a site file alone) is taken as its content. */
function httpContext(top: Directive[]): Directive[] {
  const http = top.filter((d) => d.name === 'http' && d.block);
  return http.length ? http.flatMap((d) => d.block!) : top;
}

/** True when the path is `<deployTo>/current/frontend` (trailing slashes and `..` aside). */
export function isFrontendRoot(p: string, deployTo: string): boolean {
  return path.posix.normalize(clean(p)) === path.posix.normalize(clean(path.posix.join(deployTo, 'current', 'frontend')));
}

const isZddRoot = (p: string) => /\/current\/frontend\/?$/.test(p);

/**
 * The app's site in the config: the servers that serve `<deployTo>/current/frontend`; else those
 * that proxy to backend.port; else those whose root has zdd's shape (`…/current/frontend`, e.g.
 * after deployTo changed); else the only server block when there is exactly one. Nothing else is
 * guessed: an unidentified site gives `servers: []` and no problem, not a false alarm.
 */
export function siteOf(text: string, expect: SiteExpectation, opts: { files?: string[] } = {}): NginxSite {
  const all = serversOf(text, opts);
  const frontend = expect.frontend ?? true;
  const pick = (): [SiteServer[], string | undefined] => {
    const byRoot = frontend ? all.filter((s) => s.roots.some((r) => isFrontendRoot(r.path, expect.deployTo))) : [];
    const byPort = expect.port === undefined ? [] : all.filter((s) => s.proxies.some((p) => p.port === expect.port));
    // A frontend server and an API server (api.example.com) are one site: take both.
    const found = all.filter((s) => byRoot.includes(s) || byPort.includes(s));
    if (found.length) {
      const why = [
        byRoot.length ? `root ${path.posix.join(expect.deployTo, 'current', 'frontend')}` : '',
        byPort.length ? `proxy_pass to port ${expect.port}` : '',
      ];
      return [found, why.filter(Boolean).join(' and ')];
    }
    const byShape = all.filter((s) => s.roots.some((r) => isZddRoot(r.path)));
    if (byShape.length) return [byShape, 'a root ending in /current/frontend'];
    if (all.length === 1) return [all, 'the only server block'];
    return [[], undefined];
  };
  const [servers, identifiedBy] = pick();
  const roots = servers.flatMap((s) => s.roots);
  return {
    servers,
    identifiedBy,
    servesFrontend: roots.some((r) => isFrontendRoot(r.path, expect.deployTo)),
    roots,
    proxies: servers.flatMap((s) => s.proxies),
    listen: servers.flatMap((s) => s.listen),
    all,
  };
}

/** `/etc/nginx/sites-enabled/app.conf:12`, or `line 12` for a text without file headers. */
export function at(where: Where | undefined): string {
  if (!where) return 'the site';
  return where.file ? `${where.file}:${where.line}` : `line ${where.line}`;
}

/** One thing wrong with the site: what Nginx does, and the line to change. */
export interface SiteFinding {
  /** `nginx serves root /srv/app/current/frontend, but deployTo is /tmp/x: the site would answer 404` */
  problem: string;
  /** `change \`root\` to /tmp/x/current/frontend in /etc/nginx/sites-enabled/app:12` */
  fix: string;
  where?: Where;
}

/**
 * What is wrong with the site for this app; [] when it is right or cannot be identified
 * (siteOf().servers is empty then: no false alarm on a config zdd cannot read as one site).
 */
export function siteFindings(site: NginxSite, expect: SiteExpectation): SiteFinding[] {
  if (!site.servers.length) return [];
  const out: SiteFinding[] = [];
  const want = path.posix.join(expect.deployTo, 'current', 'frontend');
  if ((expect.frontend ?? true) && !site.servesFrontend) {
    const r = site.roots.find((x) => isZddRoot(x.path)) ?? site.roots[0];
    out.push(
      r
        ? {
            problem: `nginx serves ${r.directive} ${r.path}${r.location ? ` (location ${r.location})` : ''}, but deployTo is ${expect.deployTo}: the site would answer 404`,
            fix: `change \`${r.directive}\` to ${want} in ${at(r.where)}`,
            where: r.where,
          }
        : {
            problem: `nginx serves no root for this site (${at(site.servers[0]?.where)}), but the app has a frontend in ${want}`,
            fix: `add \`root ${want};\` to its server block`,
            where: site.servers[0]?.where,
          },
    );
  }
  if (expect.port !== undefined && site.proxies.length) {
    const known = site.proxies.filter((p) => p.port !== undefined);
    if (known.length && !known.some((p) => p.port === expect.port)) {
      const p = known[0]!;
      const via = p.upstream ? ` (upstream ${p.upstream})` : '';
      out.push({
        problem: `nginx proxies ${p.location} to ${p.address}:${p.port}${via}, but backend.port is ${expect.port}: every request there would be a 502`,
        fix: `change the port to ${expect.port} in ${at(p.where)}`,
        where: p.where,
      });
    }
  }
  return out;
}

/** siteFindings as sentences: `<problem> — <fix>`. */
export function siteProblems(site: NginxSite, expect: SiteExpectation): string[] {
  return siteFindings(site, expect).map((f) => `${f.problem} — ${f.fix}`);
}
