/**
 * The deploy and the rollback, top to bottom: one list, each line saying which command runs it and
 * in which phase. Everything in `prepare` can fail without the site noticing; from `switch` on, a
 * failure switches back to the release that served before. With hosts, `prepare` runs on every host
 * in parallel, `switch` a batch at a time, `finish` on every host once all batches are verified.
 */
import type { AnyStep } from '../core/types.js';
import { buildBackend } from '../steps/build-backend.js';
import { buildFrontend } from '../steps/build-frontend.js';
import { canary } from '../steps/canary.js';
import { carryOver } from '../steps/carry-over.js';
import { afterSwitch, beforeSwitch } from '../steps/hooks.js';
import { install } from '../steps/install.js';
import { installBackendBuild, installFrontend } from '../steps/install-build.js';
import { lock } from '../steps/lock.js';
import { nginxReload } from '../steps/nginx-reload.js';
import { nginxTest } from '../steps/nginx-test.js';
import { pm2 } from '../steps/pm2.js';
import { pm2Check } from '../steps/pm2-check.js';
import { prepare } from '../steps/prepare.js';
import { prune } from '../steps/prune.js';
import { record } from '../steps/record.js';
import { shared } from '../steps/shared.js';
import { switchCurrent } from '../steps/switch.js';
import { target } from '../steps/target.js';
import { traffic } from '../steps/traffic.js';
import { verify } from '../steps/verify.js';
import { bake } from '../steps/bake.js';

export type Command = 'deploy' | 'rollback';
export type Phase = 'prepare' | 'switch' | 'finish';

interface Line {
  step: AnyStep;
  in: Command[];
  phase: Phase;
  /** The step starts its work (`begin`) when this one starts, and runs alongside it. */
  beginsWith?: AnyStep;
}

const both: Command[] = ['deploy', 'rollback'];
const deploy: Command[] = ['deploy'];
const rollback: Command[] = ['rollback'];

const story: Line[] = [
  { step: lock, in: both, phase: 'prepare' }, //                   take <deployTo>/.zdd/lock (exit 3 if a live deploy holds it)
  { step: target, in: rollback, phase: 'prepare' }, //             choose the release again now that the lock is held
  { step: prepare, in: deploy, phase: 'prepare' }, //              releases/<id>/ + release.json (building)
  { step: installFrontend, in: deploy, phase: 'prepare' }, //      frontend.install on the builder (skipped while node_modules is up to date)
  { step: installBackendBuild, in: deploy, phase: 'prepare' }, //  backend.buildInstall on the builder, only with backend.build
  { step: buildFrontend, in: deploy, phase: 'prepare' }, //        frontend.build, copy outDir -> releases/<id>/frontend
  { step: carryOver, in: deploy, phase: 'prepare' }, //            hard-link the kept releases' hashed files (old tabs keep working)
  { step: buildBackend, in: deploy, phase: 'prepare', beginsWith: buildFrontend }, // backend.build + copy, alongside the frontend build
  { step: install, in: deploy, phase: 'prepare' }, //              backend.install in the release
  { step: shared, in: deploy, phase: 'prepare' }, //               link shared files and dirs
  { step: beforeSwitch, in: deploy, phase: 'prepare' }, //         hooks.beforeSwitch (migrations)
  { step: canary, in: deploy, phase: 'prepare' }, //               boot once on a free port, health check must answer 2xx
  { step: nginxTest, in: both, phase: 'prepare' }, //              nginx.test must pass
  { step: pm2Check, in: both, phase: 'prepare' }, //               PM2 runs the app through current, or not yet
  { step: switchCurrent, in: both, phase: 'switch' }, //           current -> releases/<id> (symlink + rename)
  { step: afterSwitch, in: deploy, phase: 'switch' }, //           hooks.afterSwitch
  { step: pm2, in: both, phase: 'switch' }, //                     start, or reload worker by worker
  { step: verify, in: both, phase: 'switch' }, //                  every instance on the new release, health check 2xx
  { step: nginxReload, in: both, phase: 'switch' }, //             only when the Nginx config changed
  { step: traffic, in: both, phase: 'switch' }, //                 one GET through the site's Nginx reaches the backend
  { step: bake, in: both, phase: 'switch' }, //                    watch it rollout.bake s: health, restarts, 5xx vs before
  { step: record, in: both, phase: 'finish' }, //                  release.json ok, history
  { step: prune, in: deploy, phase: 'finish' }, //                 keep keepReleases
];

const asStep = (l: Line): AnyStep => (l.beginsWith ? { ...l.step, beginsWith: l.beginsWith.id } : l.step);

/** The steps of `command`, in order. */
export function stepsOf(command: Command): AnyStep[] {
  return story.filter((l) => l.in.includes(command)).map(asStep);
}

/** The steps of `command` by phase (a multi-host run runs each phase across the hosts). */
export function phasesOf(command: Command): Record<Phase, AnyStep[]> {
  const lines = story.filter((l) => l.in.includes(command));
  const of = (p: Phase) => lines.filter((l) => l.phase === p).map(asStep);
  return { prepare: of('prepare'), switch: of('switch'), finish: of('finish') };
}
