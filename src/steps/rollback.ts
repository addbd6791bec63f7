/**
 * Rollback: no build; the same lock, checks, switch, reload and verify as a deploy. In a module of its
 * own so that `zdd rollback` does not load the deploy's build steps.
 */
import { lock } from './lock.js';
import { nginxReload } from './nginx-reload.js';
import { nginxTest } from './nginx-test.js';
import { pm2 } from './pm2.js';
import { pm2Check } from './pm2-check.js';
import { record } from './record.js';
import { switchCurrent } from './switch.js';
import type { Step } from './types.js';
import { verify } from './verify.js';

export const rollbackSteps: Step[] = [lock, nginxTest, pm2Check, switchCurrent, pm2, verify, nginxReload, record];
