/**
 * The deploy, top to bottom. Everything before `switch` can fail without the site noticing; from
 * `switch` on, a failure switches back to the release that served before.
 */
import { beforeSwitch, afterSwitch } from './hooks.js';
import { buildBackend } from './build-backend.js';
import { buildFrontend } from './build-frontend.js';
import { canary } from './canary.js';
import { carryOver } from './carry-over.js';
import { install } from './install.js';
import { lock } from './lock.js';
import { nginxReload } from './nginx-reload.js';
import { nginxTest } from './nginx-test.js';
import { pm2 } from './pm2.js';
import { pm2Check } from './pm2-check.js';
import { prepare } from './prepare.js';
import { prune } from './prune.js';
import { record } from './record.js';
import { shared } from './shared.js';
import { switchCurrent } from './switch.js';
import type { Step } from './types.js';
import { verify } from './verify.js';

export const deploySteps: Step[] = [
  lock, //            take <deployTo>/.zdd/lock (exit 3 if a live deploy holds it)
  prepare, //         releases/<id>/ + release.json (building)
  buildFrontend, //   frontend.build, copy outDir -> releases/<id>/frontend
  carryOver, //       hard-link the kept releases' hashed files into frontend/ (old tabs keep working)
  buildBackend, //    backend.build, copy backend.root -> releases/<id>/backend
  install, //         backend.install in the release
  shared, //          link shared files and dirs
  beforeSwitch, //    hooks.beforeSwitch (migrations)
  canary, //          boot once on a free port, health check must answer 2xx
  nginxTest, //       nginx.test must pass
  pm2Check, //        PM2 runs the app through current (so a reload picks it up), or not yet
  switchCurrent, //   current -> releases/<id> (symlink + rename)
  afterSwitch, //     hooks.afterSwitch
  pm2, //             start, or reload worker by worker
  verify, //          every instance on the new release, health check 2xx
  nginxReload, //     only when the Nginx config changed
  record, //          release.json ok, history
  prune, //           keep keepReleases
];

export { rollbackSteps } from './rollback.js';
