/**
 * A whole deploy target for end-to-end tests: a copy of the example app, a deploy root, a private
 * PM2 daemon (temp PM2_HOME), a private Nginx on a free loopback port, and the real zdd CLI.
 * `stop()` removes all of it, by PID and through its own PM2_HOME.
 */
import { execa, type ResultPromise } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyExample, makeTempDir, removeDir } from './example.js';
import { describeLoad, httpGet, startSiteLoad, type SiteLoadHandle, type SiteLoadOptions, type SiteLoadReport } from './load.js';
import { startNginx, type NginxInstance } from './nginx.js';
import { repoRoot, tempPm2Home, type TempPm2Home } from './pm2.js';
import { freePort } from './ports.js';

export const zddBin = join(repoRoot, 'bin', 'zdd');

export interface Site {
  work: string;
  app: string;
  deployTo: string;
  configPath: string;
  backendPort: number;
  nginx: NginxInstance;
  pm2: TempPm2Home;
  env: Record<string, string>;
  /** Run the CLI to completion (never throws on a non-zero exit). */
  zdd(args: string[], opts?: { env?: Record<string, string> }): Promise<{ exitCode: number; stdout: string; stderr: string; all: string }>;
  /** Start the CLI and return the child (for kill tests). */
  spawnZdd(args: string[]): ResultPromise<{ all: true; reject: false }>;
  /** The three loads of startSiteLoad against this site: POSTs through Nginx, keep-alive GETs at backend.port, GETs through Nginx. */
  load(opts?: Partial<SiteLoadOptions>): SiteLoadHandle;
  /** Run `fn` under that load; the load stops even when `fn` throws. */
  underLoad<T>(fn: () => Promise<T>, opts?: Partial<SiteLoadOptions>): Promise<{ value: T; report: SiteLoadReport }>;
  /** A failure message for a load report: counts by load and kind, the first failures, Nginx's error log tail. */
  explain(report: SiteLoadReport): Promise<string>;
  /** The version the page and the API serve through Nginx. */
  served(): Promise<{ page: string | undefined; api: string | undefined; release: string | undefined }>;
  stop(): Promise<void>;
}

export async function makeSite(opts: { version: string; config?: Record<string, unknown> }): Promise<Site> {
  const work = await makeTempDir('site-');
  const app = join(work, 'app');
  const deployTo = join(work, 'deploy');
  const backendPort = await freePort();
  const pm2 = await tempPm2Home();
  let nginx: NginxInstance | undefined;
  try {
    nginx = await startNginx({ deployTo, backendPort });
    const { configPath } = await copyExample(app, {
      version: opts.version,
      deployTo,
      backendPort,
      nginx: { test: nginx.testCmd, reload: nginx.reloadCmd },
      config: opts.config,
    });
    const env = { ...pm2.env, CI: '1' } as Record<string, string>;
    const nx = nginx;
    const site: Site = {
      work,
      app,
      deployTo,
      configPath,
      backendPort,
      nginx: nx,
      pm2,
      env,
      async zdd(args, o = {}) {
        const r = await execa(process.execPath, [zddBin, ...args, '--config', configPath], {
          env: { ...env, ...o.env },
          reject: false,
          all: true,
          cwd: app,
          timeout: 240_000,
        });
        return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), all: String(r.all) };
      },
      spawnZdd(args) {
        return execa(process.execPath, [zddBin, ...args, '--config', configPath], { env, reject: false, all: true, cwd: app });
      },
      load(o = {}) {
        return startSiteLoad({ nginxUrl: nx.url, backendUrl: `http://127.0.0.1:${backendPort}`, ...o });
      },
      async underLoad(fn, o = {}) {
        const handle = site.load(o);
        try {
          const value = await fn();
          return { value, report: await handle.stop() };
        } finally {
          await handle.stop();
        }
      },
      async explain(report) {
        const log = await readFile(nx.errorLog, 'utf8').catch(() => '');
        return `${describeLoad(report)}\n${JSON.stringify(report.failures.slice(0, 5))}\n${log.slice(-2000)}`;
      },
      async served() {
        const page = await httpGet(`${nx.url}/`);
        const api = await httpGet(`${nx.url}/api/version`);
        const meta = /<meta\s+name="app-version"\s+content="([^"]*)"/.exec(page.body)?.[1];
        let v: { version?: string; release?: string } = {};
        try {
          v = JSON.parse(api.body);
        } catch {
          /* not JSON: a 502 page */
        }
        return { page: meta, api: v.version, release: v.release ?? undefined };
      },
      async stop() {
        await pm2.kill().catch(() => {});
        await nx.stop().catch(() => {});
        await removeDir(work);
      },
    };
    return site;
  } catch (err) {
    await pm2.kill().catch(() => {});
    await nginx?.stop().catch(() => {});
    await removeDir(work);
    throw err;
  }
}
