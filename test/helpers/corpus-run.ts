/**
 * One corpus project through what a new user does: `zdd init --deploy-to`, edit the port, `zdd
 * doctor`, `zdd deploy --ci` (a fresh checkout: no node_modules anywhere), then under the load of
 * POSTs through Nginx and keep-alive GETs at backend.port a second deploy and a rollback. Nginx runs
 * the site file init wrote. Used by test/e2e/corpus.test.ts (asserts) and bench/corpus.bench.test.ts (the table).
 */
import { execa } from 'execa';
import { mkdtemp, readFile, readlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { CorpusProject } from './corpus.js';
import { pnpmBin } from './corpus.js';
import { removeDir } from './example.js';
import { httpGet, startSiteLoad, type SiteLoadReport } from './load.js';
import { startNginx, type NginxInstance } from './nginx.js';
import { tempPm2Home } from './pm2.js';
import { freePort } from './ports.js';
import { zddBin } from './site.js';

export interface CliRun {
  exitCode: number;
  all: string;
  seconds: number;
}

export interface CorpusRun {
  init: CliRun;
  /** Lines of zdd.config.ts and the site file changed: for the port, and for this test's Nginx (listen, test/reload commands). */
  edits: { port: number; harness: number };
  doctor: CliRun;
  first: CliRun;
  deploy: CliRun;
  rollback: CliRun;
  /** The version /api/version served through Nginx after the second deploy, and after the rollback. */
  servedAfterDeploy?: string;
  servedAfterRollback?: string;
  firstRelease: string;
  currentAfterRollback: string;
  report: SiteLoadReport;
  explain: string;
}

/** Lines that differ between two versions of a file of the same line count. */
function changedLines(before: string, after: string): number {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length !== b.length) throw new Error('corpus: an edit changed the number of lines');
  return a.filter((line, i) => line !== b[i]).length;
}

/** Replaces exactly one match of `re`; throws when there is none (init wrote something else). */
function editOnce(text: string, re: RegExp, replacement: string, what: string): string {
  const matches = text.match(new RegExp(re.source, `${re.flags.replace('g', '')}g`));
  if (matches?.length !== 1) throw new Error(`corpus: expected one ${what} (${re}), found ${matches?.length ?? 0}`);
  return text.replace(re, replacement);
}

async function versionThrough(nginx: NginxInstance): Promise<string | undefined> {
  const r = await httpGet(`${nginx.url}/api/version`, 10_000).catch(() => undefined);
  try {
    return (JSON.parse(r?.body ?? '') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export async function runCorpusProject(project: CorpusProject, o: { log?: (line: string) => void } = {}): Promise<CorpusRun> {
  const log = o.log ?? (() => {});
  // Outside the repository: nothing may resolve from zdd's own node_modules (a fresh checkout has none).
  const work = await mkdtemp(join(tmpdir(), 'zdd-corpus-'));
  const dir = join(work, 'app');
  const deployTo = join(work, 'deploy');
  const pm2 = await tempPm2Home();
  let nginx: NginxInstance | undefined;
  try {
    await project.make(dir);
    // npm and npx put zdd's node_modules/.bin on the test's PATH: a fresh checkout's build must not find vite there.
    const path = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules'));
    const env: Record<string, string> = { ...(pm2.env as Record<string, string>), CI: '1', PATH: [await pnpmBin(), ...path].join(delimiter) };
    const zdd = async (args: string[]): Promise<CliRun> => {
      const t0 = performance.now();
      const r = await execa(process.execPath, [zddBin, ...args], { cwd: dir, env, reject: false, all: true, timeout: 300_000 });
      const run = { exitCode: r.exitCode ?? -1, all: String(r.all), seconds: (performance.now() - t0) / 1000 };
      log(`$ zdd ${args.join(' ')} → exit ${run.exitCode} in ${run.seconds.toFixed(1)} s`);
      return run;
    };

    const init = await zdd(['init', '--deploy-to', deployTo]);
    if (init.exitCode !== 0) throw new Error(`zdd init failed:\n${init.all}`);

    // The user's edits: backend.port, and the upstream of the site file with it.
    const backendPort = await freePort();
    const nginxPort = await freePort();
    const configPath = join(dir, 'zdd.config.ts');
    const siteRel = /wrote (nginx\/[^\s]+\.conf)/.exec(init.all)?.[1];
    if (!siteRel) throw new Error(`zdd init wrote no nginx site file:\n${init.all}`);
    const sitePath = join(dir, siteRel);
    const config0 = await readFile(configPath, 'utf8');
    const site0 = await readFile(sitePath, 'utf8');
    const config1 = editOnce(config0, /\bport: \d+/, `port: ${backendPort}`, 'backend port');
    const site1 = editOnce(site0, /server 127\.0\.0\.1:\d+;/, `server 127.0.0.1:${backendPort};`, 'upstream server');
    // This test's Nginx: a loopback port instead of `listen 80`, and its own -p/-c for test and reload.
    const site2 = editOnce(site1, /listen 80;/, `listen 127.0.0.1:${nginxPort};`, 'listen line');
    await writeFile(sitePath, site2);
    nginx = await startNginx({ deployTo, backendPort, port: nginxPort, site: sitePath });
    const q = (cmd: string) => `'${cmd.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    let config2 = editOnce(config1, /test: 'nginx -t'/, `test: ${q(nginx.testCmd)}`, 'nginx.test');
    config2 = editOnce(config2, /reload: 'nginx -s reload'/, `reload: ${q(nginx.reloadCmd)}`, 'nginx.reload');
    await writeFile(configPath, config2);
    const edits = {
      port: changedLines(config0, config1) + changedLines(site0, site1),
      harness: changedLines(config1, config2) + changedLines(site1, site2),
    };

    const doctor = await zdd(['doctor']);
    const first = await zdd(['deploy', '--ci', '--bake', '0']);
    if (first.exitCode !== 0) throw new Error(`the first deploy failed:\n${first.all}`);
    const firstRelease = await readlink(join(deployTo, 'current'));
    await new Promise((r) => setTimeout(r, 1500)); // the first deploy reloaded Nginx: let its old workers go

    const load = startSiteLoad({
      nginxUrl: nginx.url,
      backendUrl: `http://127.0.0.1:${backendPort}`,
      postPath: project.load.postPath,
      directPaths: project.load.directPaths,
      nginxPaths: project.load.nginxPaths,
    });
    let deploy: CliRun;
    let rollback: CliRun;
    let servedAfterDeploy: string | undefined;
    let servedAfterRollback: string | undefined;
    try {
      await new Promise((r) => setTimeout(r, 500));
      await project.bump(dir, 'v2');
      deploy = await zdd(['deploy', '--ci', '--bake', '0']);
      servedAfterDeploy = await versionThrough(nginx);
      rollback = await zdd(['rollback', '--ci', '--bake', '0']);
      servedAfterRollback = await versionThrough(nginx);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await load.stop();
    }
    const report = await load.stop();
    const nginxLog = await readFile(nginx.errorLog, 'utf8').catch(() => '');
    const explain = `${JSON.stringify(report.failures.slice(0, 5))}\n${nginxLog.slice(-1500)}`;
    return {
      init,
      edits,
      doctor,
      first,
      deploy,
      rollback,
      servedAfterDeploy,
      servedAfterRollback,
      firstRelease,
      currentAfterRollback: await readlink(join(deployTo, 'current')),
      report,
      explain,
    };
  } finally {
    if (nginx) await nginx.stop().catch(() => {});
    await pm2.kill().catch(() => {});
    await removeDir(work);
  }
}
