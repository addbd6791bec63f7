/**
 * zdd's reload safety (src/runtime/preload.ts, bundled as dist/runtime/reload-safe.cjs): copied into
 * each release and loaded into every PM2 worker and the canary with `node --require`, unless
 * `backend.reloadSafe` is false. It lives in the release, beside backend/, so a worker always loads
 * the copy of the release it runs, on any host.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import type { Host } from '../host/types.js';
import { packagePath } from '../core/package-root.js';

export const RELOAD_SAFETY_FILE = 'reload-safe.cjs';

let source: string | undefined;
/** The bundle zdd ships (built by `npm run build`). */
export function reloadSafetySource(): string {
  return (source ??= readFileSync(packagePath('dist', 'runtime', RELOAD_SAFETY_FILE), 'utf8'));
}

/** Put the reload safety into `releaseDir` when it is on and the release has no current copy of it. */
export async function ensureReloadSafety(host: Host, config: ZddConfig, releaseDir: string): Promise<void> {
  if (!config.backend?.reloadSafe) return;
  const file = path.join(releaseDir, RELOAD_SAFETY_FILE);
  const want = reloadSafetySource();
  if ((await host.readFile(file)) !== want) await host.writeFile(file, want, { mode: 0o644 });
}

/** Node's arguments that load it from `releaseDir` (through `current` for PM2), or none when it is off. */
export function reloadSafetyArgs(config: ZddConfig, releaseDir: string): string[] {
  return config.backend?.reloadSafe ? ['--require', path.join(releaseDir, RELOAD_SAFETY_FILE)] : [];
}

/** What the reload safety printed about the app: the port it listens on, who sends `ready` and who drains. */
export interface ReloadSafetyReport {
  /** Ports the app listened on that are not PORT. */
  otherPorts: number[];
  /** Set once the app listens on PORT. */
  mode?: { ready: string; shutdown: string };
}

const LINE = /^zdd reload-safety pid=\d+: listening on port (\d+)(.*)$/gm;

export function readReloadSafety(output: string): ReloadSafetyReport {
  const report: ReloadSafetyReport = { otherPorts: [] };
  for (const m of output.matchAll(LINE)) {
    const mode = /^ \(PORT\); ready: (.*); shutdown: (.*)$/.exec(m[2]!);
    if (mode) report.mode ??= { ready: mode[1]!, shutdown: mode[2]! };
    else report.otherPorts.push(Number(m[1]));
  }
  return report;
}

/** One phrase for the deploy output and doctor: who makes the app reload-safe. */
export function describeMode(mode: NonNullable<ReloadSafetyReport['mode']>): string {
  if (mode.shutdown === 'zdd') return `zdd's reload safety (ready: ${mode.ready}; drain on SIGINT: zdd)`;
  return `the app's own handling (ready: ${mode.ready}; shutdown: ${mode.shutdown})`;
}
