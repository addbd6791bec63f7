// Proves the e2e harness itself: example copy + build, a fake release layout, a plain backend
// process, a private Nginx, and the load generator. No zdd code involved.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, readdir, symlink, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, makeTempDir, removeDir } from '../helpers/example.js';
import { httpGet, startLoad } from '../helpers/load.js';
import { startNginx, type NginxInstance } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';

const execFileAsync = promisify(execFile);
const VERSION = 'harness-1';

describe('e2e harness', () => {
  let work: string | undefined;
  let backend: ChildProcess | undefined;
  let nginx: NginxInstance | undefined;
  let backendPort = 0;

  beforeAll(async () => {
    work = await makeTempDir('harness-');
    const app = join(work, 'app');
    const deployTo = join(work, 'deploy');
    backendPort = await freePort();
    await copyExample(app, { version: VERSION, deployTo, backendPort });

    await execFileAsync('npm', ['run', 'build'], { cwd: join(app, 'frontend'), timeout: 120_000 });

    // Fake zdd layout: current -> releases/x, with the built frontend and the backend.
    const release = join(deployTo, 'releases', 'x');
    await mkdir(release, { recursive: true });
    await cp(join(app, 'frontend', 'dist'), join(release, 'frontend'), { recursive: true });
    await cp(join(app, 'backend'), join(release, 'backend'), { recursive: true });
    await symlink(join('releases', 'x'), join(deployTo, 'current'));

    backend = spawn(process.execPath, ['server.js'], {
      cwd: join(deployTo, 'current', 'backend'),
      env: { ...process.env, PORT: String(backendPort), ZDD_RELEASE: 'x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const b = backend;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('backend did not start within 10 s')), 10_000);
      b.once('exit', (code) => reject(new Error(`backend exited early with ${code}`)));
      b.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });

    nginx = await startNginx({ deployTo, backendPort });
  }, 180_000);

  afterAll(async () => {
    if (backend?.pid !== undefined && backend.exitCode === null && backend.signalCode === null) {
      const b = backend;
      const exited = new Promise<void>((r) => b.once('exit', () => r()));
      b.kill('SIGTERM'); // by PID: ChildProcess.kill signals this child only
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
    }
    await nginx?.stop();
    if (work) await removeDir(work);
  }, 60_000);

  it('builds a lazy chunk and injects the app-version meta', async () => {
    const assets = await readdir(join(work!, 'app', 'frontend', 'dist', 'assets'));
    expect(assets.filter((f) => f.endsWith('.js')).length).toBeGreaterThanOrEqual(2);
    expect(assets.some((f) => f.startsWith('Reports-'))).toBe(true);
  });

  it('serves the page, assets and API through nginx', async () => {
    const page = await httpGet(`${nginx!.url}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`<meta name="app-version" content="${VERSION}">`);

    const spa = await httpGet(`${nginx!.url}/some/client/route`);
    expect(spa.status).toBe(200);
    expect(spa.body).toContain('app-version');

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await httpGet(`${nginx!.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await httpGet(`${nginx!.url}/assets/missing.js`)).status).toBe(404);

    const api = await httpGet(`${nginx!.url}/api/version`);
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body)).toMatchObject({ version: VERSION, release: 'x', pid: backend!.pid });

    expect((await httpGet(`${nginx!.url}/healthz`)).body).toBe('ok');
    expect(JSON.parse((await httpGet(`${nginx!.url}/api/slow?ms=20`)).body)).toEqual({ version: VERSION, waited: 20 });

    const { stdout } = await execFileAsync('sh', ['-c', nginx!.testCmd]);
    void stdout; // `nginx -t` reports on stderr; a zero exit is what matters
  });

  it('sees no failures under constant load', async () => {
    const load = startLoad({ url: nginx!.url, paths: ['/', '/api/version', '/healthz', '/api/slow?ms=5'], concurrency: 8 });
    await new Promise((r) => setTimeout(r, 2000));
    const report = await load.stop();
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.total).toBeGreaterThan(100);
    expect(Object.keys(report.versions)).toEqual([VERSION]);
  });

  it('reloads nginx gracefully with reloadCmd', async () => {
    const pid = await nginx!.readPid();
    await execFileAsync('sh', ['-c', nginx!.reloadCmd]);
    expect(await nginx!.readPid()).toBe(pid);
    expect((await httpGet(`${nginx!.url}/api/version`)).status).toBe(200);
  });
});
