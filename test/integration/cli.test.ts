/**
 * The real built CLI (`node bin/zdd ...`) with CI=1: help, usage errors, `deploy --dry-run` in CI
 * and JSON output, and a config error as JSON.
 *
 * Needs a build (`npm run build`); it does not build by itself. PM2_HOME points at an empty temp
 * folder and `pm2` on PATH is a stub (`pm2 jlist` prints `[]`), so no PM2 daemon is asked or started.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listing } from '../helpers/fs.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repoRoot, 'bin', 'zdd');
const ISO_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \S/;
/** The deploy, as the README's table lists it: what the CLI must run and print, in this order. */
const STEP_IDS = [
  'lock',
  'prepare',
  'install-frontend',
  'install-backend-build',
  'build-frontend',
  'carry-over',
  'build-backend',
  'install',
  'shared',
  'hooks',
  'canary',
  'nginx-test',
  'pm2-check',
  'switch',
  'after-switch',
  'pm2',
  'verify',
  'nginx-reload',
  'traffic',
  'bake',
  'record',
  'prune',
];

let root: string;
let stubBin: string;

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'bundle', 'cli.js'))) {
    throw new Error('dist/bundle/cli.js is missing: run `npm run build` before these tests');
  }
  root = await mkdtemp(join(tmpdir(), 'zdd-cli-'));
  stubBin = join(root, 'bin');
  await mkdir(stubBin);
  await writeFile(join(stubBin, 'pm2'), '#!/bin/sh\n[ "$1" = jlist ] && echo "[]"\nexit 0\n');
  await chmod(join(stubBin, 'pm2'), 0o755);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** process.env without colour settings, with CI=1 and the PM2 stub first on PATH. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, CI: '1', PATH: `${stubBin}:${process.env.PATH ?? ''}`, PM2_HOME: join(root, 'pm2-home'), ...extra };
  delete e.FORCE_COLOR;
  delete e.NO_COLOR;
  return e;
}

function zdd(args: string[], cwd = repoRoot, extra: Record<string, string> = {}) {
  return execa('node', [bin, ...args], { cwd, reject: false, env: env(extra), extendEnv: false, timeout: 30_000 });
}

let projects = 0;
/**
 * A minimal project: a frontend whose build writes dist/index.html, a backend with server.js.
 * `deployTo` is created (empty) unless `createDeployTo` is false.
 */
async function project(opts: { createDeployTo?: boolean; config?: (deployTo: string) => unknown } = {}) {
  const base = join(root, `p${++projects}`);
  const dir = join(base, 'project');
  const deployTo = join(base, 'target');
  await mkdir(join(dir, 'frontend'), { recursive: true });
  await cp(join(repoRoot, 'test', 'fixtures', 'sample-project', 'backend'), join(dir, 'backend'), { recursive: true });
  if (opts.createDeployTo !== false) await mkdir(deployTo);
  const config = opts.config?.(deployTo) ?? {
    app: 'shop',
    deployTo,
    frontend: { build: "mkdir -p dist && echo '<html></html>' > dist/index.html" },
    backend: { script: 'server.js', port: 3999, env: { API_TOKEN: 'sup3r-s3cret-token' } },
  };
  await writeFile(join(dir, 'zdd.config.json'), JSON.stringify(config, null, 2));
  return { dir, deployTo };
}

describe('help and usage', () => {
  it('zdd --help lists every command and shows examples and exit codes', async () => {
    const r = await zdd(['--help']);
    expect(r.exitCode).toBe(0);
    for (const cmd of ['deploy', 'rollback', 'releases', 'status', 'init', 'doctor', 'unlock']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    }
    for (const opt of ['--config', '--ci', '--json', '--verbose']) expect(r.stdout).toContain(opt);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('$ zdd deploy --ci');
    expect(r.stdout).toMatch(/Exit codes: 0 .* 3 locked/);
  });

  it('zdd deploy --help shows its examples and --dry-run', async () => {
    const r = await zdd(['deploy', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('--dry-run');
    expect(r.stdout).toContain('--lock-wait');
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('$ zdd deploy --dry-run');
  });

  it('zdd --version prints the package version', async () => {
    const r = await zdd(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command exits 2 and says so', async () => {
    const r = await zdd(['deplyo']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'deplyo'/);
  });

  it('a --lock-wait that is not a number of seconds is bad usage: exit 2, naming the flag, nothing created', async () => {
    const { dir, deployTo } = await project();
    const r = await zdd(['deploy', '--lock-wait', 'abc'], dir);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/--lock-wait: expected seconds ≥ 0, got "abc"/);
    expect(listing(deployTo)).toEqual([]);
  });

  it('help piped into a reader that is gone (`| head -5`, here `| true`) exits 0 with no EPIPE stack trace', async () => {
    // `true` reads nothing and exits at once: every write of zdd's finds the pipe closed.
    const r = await execa('bash', ['-c', `set -o pipefail; node ${JSON.stringify(bin)} releases --help | true`], {
      cwd: repoRoot,
      reject: false,
      env: env({}),
      extendEnv: false,
    });
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('an unknown option exits 2', async () => {
    const r = await zdd(['deploy', '--no-such-flag']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--no-such-flag'/);
  });
});

describe('zdd deploy --dry-run', () => {
  it('prints every step and changes nothing: no file in deployTo, no frontend build (CI lines, timestamped)', async () => {
    const { dir, deployTo } = await project();
    const before = listing(dirname(dir));
    const r = await zdd(['deploy', '--dry-run'], dir);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    // CI output: one plain line per event, each starting with an ISO timestamp, no colour.
    for (const l of lines) expect(l).toMatch(ISO_LINE);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    // Every step appears, as a plan or as a skip, in order.
    const positions = STEP_IDS.map((id) => lines.findIndex((l) => new RegExp(`Z (info  ${id}:|skip  ${id} — )`).test(l)));
    expect(
      positions.every((p) => p >= 0),
      `steps missing in:\n${r.stdout}`,
    ).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(r.stdout).toContain("run `mkdir -p dist && echo '<html></html>' > dist/index.html`");
    expect(lines.at(-1)).toMatch(/Z ok {4}dry run: nothing was changed$/);
    // Nothing created: no release, no lock, and the build command did not run.
    expect(listing(deployTo)).toEqual([]);
    expect(existsSync(join(dir, 'frontend', 'dist'))).toBe(false);
    expect(listing(dirname(dir))).toEqual(before);
  });

  // Regression: on 3a21f8b this failed with exit 1, "`.../pm2 jlist` could not run: command not
  // found": the pm2 step's plan ran `pm2 jlist` with cwd = deployTo, which does not exist before the
  // first deploy (and LocalHost reports any spawn ENOENT as a missing command; see host.test.ts).
  it('works before the first deploy, when deployTo does not exist yet, and does not create it', async () => {
    const { dir, deployTo } = await project({ createDeployTo: false });
    const r = await zdd(['deploy', '--dry-run'], dir);
    expect(existsSync(deployTo)).toBe(false);
    expect(existsSync(join(dir, 'frontend', 'dist'))).toBe(false);
    expect(r.stdout + r.stderr).not.toContain('command not found');
    expect(r.exitCode).toBe(0);
  });

  it('--json: one JSON document on stdout, logs on stderr only', async () => {
    const { dir, deployTo } = await project();
    const r = await zdd(['deploy', '--dry-run', '--json'], dir);
    expect(r.exitCode).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    expect(doc).toMatchObject({ command: 'deploy', result: 'ok', exitCode: 0, dryRun: true });
    expect(typeof doc.durationMs).toBe('number');
    expect(doc.release.id).toMatch(/^\d{14}(-\d+)?$/);
    expect(doc.release.dir).toBe(join(deployTo, 'releases', doc.release.id));
    expect(doc.release.previous).toBeNull();
    expect(doc.steps.map((s: { id: string }) => s.id)).toEqual(STEP_IDS);
    for (const s of doc.steps) {
      expect(['planned', 'skipped']).toContain(s.status);
      expect(s.ms).toBe(0);
    }
    expect(doc.steps.find((s: { id: string }) => s.id === 'build-frontend').actions.join('\n')).toContain('dist/index.html');
    expect(doc.error).toBeUndefined();
    // Logs went to stderr, every one a plain timestamped line.
    const logs = r.stderr.split('\n').filter(Boolean);
    expect(logs.length).toBeGreaterThanOrEqual(STEP_IDS.length);
    for (const l of logs) expect(l).toMatch(ISO_LINE);
    expect(r.stdout).not.toMatch(ISO_LINE);
    // backend.env values appear nowhere.
    expect(r.stdout + r.stderr).not.toContain('sup3r-s3cret-token');
    expect(listing(deployTo)).toEqual([]);
  });

  it('a config error with --json: result "invalid", exit code 2, the problems listed, nothing created', async () => {
    const { dir, deployTo } = await project({
      createDeployTo: false,
      config: (deployTo) => ({ app: 'shop', deployTo, backend: { script: 'server.js', port: 'abc' } }),
    });
    const r = await zdd(['deploy', '--json'], dir);
    expect(r.exitCode).toBe(2);
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    expect(doc).toMatchObject({ command: 'deploy', result: 'invalid', exitCode: 2 });
    expect(doc.error.type).toBe('ConfigError');
    expect(doc.error.problems).toContain('backend.port: expected an integer from 1 to 65535, got "abc"');
    expect(r.stderr).toContain('backend.port: expected an integer from 1 to 65535, got "abc"');
    expect(existsSync(deployTo)).toBe(false);
  });

  it('a config error in CI mode prints timestamped lines and exits 2', async () => {
    const { dir } = await project({
      createDeployTo: false,
      config: (deployTo) => ({ app: 'shop', deploy_to: deployTo, backend: { script: 'server.js', port: 3000 } }),
    });
    const r = await zdd(['deploy', '--dry-run'], dir);
    expect(r.exitCode).toBe(2);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(ISO_LINE);
    expect(r.stdout).toMatch(/Z error deploy_to: unknown key \(did you mean "deployTo"\?\)$/m);
  });
});
