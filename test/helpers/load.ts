import http from 'node:http';

export interface LoadFailure {
  path: string;
  /** HTTP status, when a response arrived (anything but 200). */
  status?: number;
  /** Error code/message, when no complete response arrived (ECONNRESET, ECONNREFUSED, timeout…). */
  error?: string;
  /** Date.now() when the failure was seen. */
  at: number;
}

export interface LoadReport {
  total: number;
  ok: number;
  failed: number;
  /** Every failure (capped at `maxFailuresKept`; `failed` always counts them all). */
  failures: LoadFailure[];
  /** How often each version was seen: `version` of JSON bodies, `app-version` meta of HTML bodies. */
  versions: Record<string, number>;
  startedAt: number;
  stoppedAt: number;
}

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Paths requested round-robin, e.g. ['/', '/api/version', '/healthz']. */
  paths: string[];
  /** Number of concurrent request loops. Default 8. */
  concurrency?: number;
  /** Reuse connections through a keep-alive Agent. Default true. */
  keepAlive?: boolean;
  /** Hard bound: no new request starts after this long, so the load always stops by itself. Default 300000. */
  maxDurationMs?: number;
  /** Per-request timeout (counts as a failure). Default 70000. */
  requestTimeoutMs?: number;
  /** Max failures kept in the report. Default 10000. */
  maxFailuresKept?: number;
  /** GET (default), or POST with `body`: never retried by Nginx once sent, so it sees every cut connection. */
  method?: 'GET' | 'POST';
  /** The POST body (JSON). Default `{"n":<request number>}`. */
  body?: string;
}

export interface LoadHandle {
  /** Stop starting requests, wait for the in-flight ones, return the final report. Idempotent. */
  stop(): Promise<LoadReport>;
  /** A snapshot of the report so far (load keeps running). */
  snapshot(): LoadReport;
  /** Resolves when the load stops by itself (maxDurationMs) or via stop(). */
  done: Promise<LoadReport>;
}

const META_RE = /<meta\s+name=["']app-version["']\s+content=["']([^"']*)["']/i;

/** Version carried by a response body: JSON `version`, or HTML `<meta name="app-version">`. */
export function versionOf(contentType: string | undefined, body: string): string | undefined {
  if (contentType?.includes('json')) {
    try {
      const v = (JSON.parse(body) as { version?: unknown })?.version;
      return v === undefined || v === null ? undefined : String(v);
    } catch {
      return undefined;
    }
  }
  if (contentType?.includes('html')) return META_RE.exec(body)?.[1];
  return undefined;
}

interface Result {
  status?: number;
  headers?: http.IncomingHttpHeaders;
  body?: string;
  error?: string;
}

function request(url: string, agent: http.Agent | false, timeoutMs: number, post?: string): Promise<Result> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Result) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const headers: http.OutgoingHttpHeaders = { 'user-agent': 'zdd-load' };
    if (post !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(post) });
    const req = http.request(url, { agent, method: post === undefined ? 'GET' : 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (!res.complete) {
          done({ status: res.statusCode, error: 'incomplete response' });
          return;
        }
        done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e: NodeJS.ErrnoException) => done({ status: res.statusCode, error: e.code ?? e.message }));
      res.on('aborted', () => done({ status: res.statusCode, error: 'response aborted' }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('request timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
    req.end(post);
  });
}

/**
 * Constant load: `concurrency` loops, each sending one request at a time, round-robin over `paths`.
 * No retries at all: every connection error, timeout or non-200 status is a failure.
 */
export function startLoad(opts: LoadOptions): LoadHandle {
  const { url, paths } = opts;
  if (paths.length === 0) throw new Error('startLoad: paths is empty');
  const concurrency = opts.concurrency ?? 8;
  const keepAlive = opts.keepAlive ?? true;
  const maxDurationMs = opts.maxDurationMs ?? 300_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 70_000;
  const maxFailuresKept = opts.maxFailuresKept ?? 10_000;
  const base = url.replace(/\/+$/, '');

  const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : false;
  const startedAt = Date.now();
  const deadline = startedAt + maxDurationMs;
  const report = { total: 0, ok: 0, failed: 0, failures: [] as LoadFailure[], versions: {} as Record<string, number> };
  let next = 0;
  let stopping = false;
  let stoppedAt = 0;

  const snapshot = (): LoadReport => ({
    ...report,
    failures: [...report.failures],
    versions: { ...report.versions },
    startedAt,
    stoppedAt: stoppedAt || Date.now(),
  });

  const loop = async () => {
    while (!stopping && Date.now() < deadline) {
      const n = next++;
      const path = paths[n % paths.length]!;
      const r = await request(base + path, agent, requestTimeoutMs, opts.method === 'POST' ? (opts.body ?? JSON.stringify({ n })) : undefined);
      report.total++;
      if (r.error === undefined && r.status === 200) {
        report.ok++;
        const v = versionOf(r.headers?.['content-type'], r.body ?? '');
        if (v !== undefined) report.versions[v] = (report.versions[v] ?? 0) + 1;
      } else {
        report.failed++;
        if (report.failures.length < maxFailuresKept) {
          const f: LoadFailure = { path, at: Date.now() };
          if (r.status !== undefined) f.status = r.status;
          if (r.error !== undefined) f.error = r.error;
          report.failures.push(f);
        }
      }
    }
  };

  const done = Promise.all(Array.from({ length: concurrency }, loop)).then(() => {
    stoppedAt = Date.now();
    if (agent) agent.destroy();
    return snapshot();
  });

  return {
    done,
    snapshot,
    stop() {
      stopping = true;
      return done;
    },
  };
}

/** One GET without keep-alive. Rejects only on a network error (any status resolves). */
export async function httpGet(url: string, timeoutMs = 30_000): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const r = await request(url, false, timeoutMs);
  if (r.error !== undefined || r.status === undefined) throw new Error(`GET ${url} failed: ${r.error ?? 'no status'}`);
  return { status: r.status, headers: r.headers ?? {}, body: r.body ?? '' };
}

/** The three loads every zero-downtime claim is measured with, side by side. */
export type LoadKind = 'post-nginx' | 'get-direct' | 'get-nginx';

export interface SiteLoadReport extends LoadReport {
  /** Each load on its own. */
  kinds: Record<LoadKind, LoadReport>;
}

export interface SiteLoadHandle {
  stop(): Promise<SiteLoadReport>;
  snapshot(): SiteLoadReport;
}

export interface SiteLoadOptions {
  /** The site through Nginx, e.g. http://127.0.0.1:8080 */
  nginxUrl: string;
  /** The app itself, at backend.port: no Nginx (and no retry) in between. */
  backendUrl: string;
  /** Loops per load. Default 3 each. */
  concurrency?: Partial<Record<LoadKind, number>>;
  /** The POST route (answers 200). Default /api/echo. */
  postPath?: string;
  /** The GET routes straight at the app (must answer 200 while draining: not a health check). Default ['/api/version']. */
  directPaths?: string[];
  /** The GET routes through Nginx. Default ['/', '/api/version']. */
  nginxPaths?: string[];
  maxDurationMs?: number;
  requestTimeoutMs?: number;
  maxFailuresKept?: number;
}

/** One report from several: counts added, failures tagged with their load, versions merged. */
function merge(kinds: Record<LoadKind, LoadReport>): SiteLoadReport {
  const all = Object.entries(kinds) as [LoadKind, LoadReport][];
  const versions: Record<string, number> = {};
  for (const [, r] of all) for (const [v, n] of Object.entries(r.versions)) versions[v] = (versions[v] ?? 0) + n;
  return {
    total: all.reduce((n, [, r]) => n + r.total, 0),
    ok: all.reduce((n, [, r]) => n + r.ok, 0),
    failed: all.reduce((n, [, r]) => n + r.failed, 0),
    failures: all.flatMap(([k, r]) => r.failures.map((f) => ({ ...f, path: `${k} ${f.path}` }))),
    versions,
    startedAt: Math.min(...all.map(([, r]) => r.startedAt)),
    stoppedAt: Math.max(...all.map(([, r]) => r.stoppedAt)),
    kinds,
  };
}

/**
 * The load that tells the truth about a deploy: non-idempotent POSTs through Nginx (never retried
 * once sent), keep-alive GETs straight at backend.port (no Nginx to retry), and the usual GETs
 * through Nginx. No retries anywhere; every failure counts, by load.
 */
export function startSiteLoad(o: SiteLoadOptions): SiteLoadHandle {
  const c = { 'post-nginx': 3, 'get-direct': 3, 'get-nginx': 3, ...o.concurrency };
  const common = {
    maxDurationMs: o.maxDurationMs ?? 300_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 70_000,
    maxFailuresKept: o.maxFailuresKept ?? 10_000,
    keepAlive: true,
  };
  const handles: Record<LoadKind, LoadHandle> = {
    'post-nginx': startLoad({ ...common, url: o.nginxUrl, paths: [o.postPath ?? '/api/echo'], method: 'POST', concurrency: c['post-nginx'] }),
    'get-direct': startLoad({ ...common, url: o.backendUrl, paths: o.directPaths ?? ['/api/version'], concurrency: c['get-direct'] }),
    'get-nginx': startLoad({ ...common, url: o.nginxUrl, paths: o.nginxPaths ?? ['/', '/api/version'], concurrency: c['get-nginx'] }),
  };
  const each = (f: (h: LoadHandle) => LoadReport) => Object.fromEntries(Object.entries(handles).map(([k, h]) => [k, f(h)])) as Record<LoadKind, LoadReport>;
  return {
    snapshot: () => merge(each((h) => h.snapshot())),
    async stop() {
      const reports = await Promise.all(Object.values(handles).map((h) => h.stop()));
      const keys = Object.keys(handles) as LoadKind[];
      return merge(Object.fromEntries(keys.map((k, i) => [k, reports[i]!])) as Record<LoadKind, LoadReport>);
    },
  };
}

/**
 * Failures counted by kind: "<load> <status or error>" for a merged report ("post-nginx 502"), the
 * path's first word otherwise ("/api/version ECONNRESET").
 */
export function failureKinds(r: LoadReport): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const f of r.failures) {
    const key = `${f.path.split(' ')[0]} ${f.status ?? f.error ?? '?'}`;
    kinds[key] = (kinds[key] ?? 0) + 1;
  }
  return kinds;
}

/** "post-nginx 0/5,120 · get-direct 0/6,001 · get-nginx 0/7,345" and the failure kinds, for messages. */
export function describeLoad(r: SiteLoadReport): string {
  const parts = (Object.entries(r.kinds) as [LoadKind, LoadReport][]).map(([k, x]) => `${k} ${x.failed}/${x.total}`);
  const why = Object.entries(failureKinds(r)).map(([k, n]) => `${n}× ${k}`);
  return `${parts.join(' · ')}${why.length ? ` (${why.join(', ')})` : ''}`;
}
