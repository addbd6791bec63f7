/**
 * The app rows of doctor, as the deploy would meet the app: stage the backend (stage.ts: build,
 * copy, install, shared links), boot the staged copy (app-lifecycle.ts probeApp), then say what the
 * staging showed — install scripts skipped or refused, a package the production install leaves
 * out, files the app wrote inside its own folder (staged-rows.ts). The working tree's own
 * node_modules never count: the canary runs after `backend.install` in the release.
 */
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import { LocalHost } from '../host/local.js';
import type { Host } from '../host/types.js';
import { currentRelease } from './app.js';
import { probeApp } from './app-lifecycle.js';
import { lastLines, row, type Check } from './check.js';
import { prepareBackend, snapshot, StageFailed, type StagedBackend } from './stage.js';
import { explainBootFailure, installScriptsRow, scriptNotices, stateRow } from './staged-rows.js';

export async function checkAppLifecycle(config: ZddConfig, host: Host = new LocalHost()): Promise<Check[]> {
  const b = config.backend;
  if (!b) return [];
  if (config.hosts?.length) return [row('app boot', 'warn', 'the app runs on the remote hosts; not booted from here')];
  let staged: StagedBackend;
  try {
    staged = await prepareBackend(config, host);
  } catch (err) {
    if (!(err instanceof StageFailed)) return [row('app boot', 'fail', `could not stage the backend: ${(err as Error).message}`)];
    return stageFailedRows(config, host, err);
  }
  try {
    const seen = { output: '' };
    const rows = await probeApp(config, host, { cwd: staged.dir, script: b.script, label: staged.how, release: 'doctor' }, seen);
    const boot = rows.findIndex((r) => r.name === 'app boot');
    const booted = boot >= 0 && rows[boot]!.level !== 'fail';
    if (boot >= 0 && !booted) {
      const why = explainBootFailure(seen.output, await host.readFile(path.join(b.root, 'package.json')), config, staged.dir);
      if (why) rows[boot] = row('app boot', 'fail', `${rows[boot]!.detail} — ${why.detail}`, why.fix);
    }
    const scripts = installScriptsRow(scriptNotices(staged.installOutput), config, booted);
    if (scripts) rows.splice(boot + 1, 0, scripts);
    rows.push(stateRow(staged.before, await snapshot(host, staged.dir, staged.shared), config));
    return rows;
  } finally {
    await staged.remove();
  }
}

/** The lines of a failed command that say what went wrong (npm's `npm error` lines without its log and help pointers), else its last lines. */
export function errorLines(output: string): string {
  const said = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /\b(error|ERR!)\b/i.test(l) && !/complete log of this run|npm help|^npm error\s*$|^npm ERR!\s*$/i.test(l));
  return said.length ? said.slice(0, 3).join(' | ') : lastLines(output) || 'no output';
}

/** The build, the copy or the install failed: the deploy would stop there. Without an entry to stage, the current release (if any) is booted instead. */
async function stageFailedRows(config: ZddConfig, host: Host, err: StageFailed): Promise<Check[]> {
  const b = config.backend!;
  const root = path.relative(config.projectDir, b.root) || '.';
  if (err.step === 'copy') {
    const current = await currentRelease(config, host);
    if (current) return probeApp(config, host, current);
    return [
      row(
        'app boot',
        'warn',
        `${path.join(root, b.script)} not found and no current release (built at deploy?); could not boot the app`,
        b.build
          ? `run \`${b.build}\` in ${root}, then zdd doctor again`
          : 'set backend.script to the entry, relative to backend.root (or backend.build to build it)',
      ),
    ];
  }
  if (err.step === 'build') {
    return [
      row(
        'app boot',
        'fail',
        `backend.build \`${err.command}\` exited with ${err.exitCode} in ${root}: ${lastLines(err.output)}`,
        'fix the build; the deploy stops at build-backend the same way',
      ),
    ];
  }
  const scripts = installScriptsRow(scriptNotices(err.output), config, false);
  const fix = scripts
    ? "approve the install scripts the `install scripts` row names; the deploy's install fails the same way"
    : `fix the install; the deploy stops at its install step the same way${/\bnpm ci\b/.test(err.command) ? ' (`npm ci` needs a package-lock.json in sync with package.json)' : ''}`;
  const rows = [
    row(
      'app boot',
      'fail',
      `\`${err.command}\` exited with ${err.exitCode}${err.exitCode === 127 ? ' (command not found)' : ''} in a staged copy of ${root} (as the release installs it): ${errorLines(err.output)}`,
      fix,
    ),
  ];
  if (scripts) rows.push(scripts);
  return rows;
}
