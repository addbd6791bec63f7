/**
 * `zdd status`'s instance rows: restarts since the release went live (from release.json's
 * workersAtLive), not PM2's lifetime restart_time, which counts every reload.
 */
import { describe, expect, it } from 'vitest';
import { instanceRows, instancesTable } from '../../src/commands/status.js';
import type { Pm2Instance } from '../../src/pm2/pm2.js';

const worker = (pmId: number, restarts: number): Pm2Instance => ({
  pmId,
  name: 'shop',
  status: 'online',
  release: 'r2',
  execPath: '/srv/shop/current/backend/server.js',
  cwd: '/srv/shop/current/backend',
  restarts,
  uptimeStart: 1_000,
  pid: 100 + pmId,
  execMode: 'cluster_mode',
});

describe('status: restarts since live', () => {
  it('counts from the go-live baseline: 19 lifetime restarts (reloads) after go-live at 18 is 1', () => {
    const rows = instanceRows([worker(0, 18), worker(1, 19)], 'r2', 61_000, [
      { pmId: 0, restarts: 18, uptimeStart: 1_000 },
      { pmId: 1, restarts: 18, uptimeStart: 1_000 },
    ]);
    expect(rows.map((r) => [r.restarts, r.restartsSinceLive])).toEqual([
      [18, 0],
      [19, 1],
    ]);
    const table = instancesTable(rows);
    expect(table).toContain('RESTARTS SINCE LIVE');
    expect(table.split('\n')[1]).toMatch(/ 0$/);
    expect(table.split('\n')[2]).toMatch(/ 1$/);
  });

  it('a worker zdd has no baseline for, or one PM2 started anew (count below it): null, shown as ?', () => {
    const rows = instanceRows([worker(0, 2), worker(5, 7)], 'r2', 61_000, [{ pmId: 0, restarts: 9, uptimeStart: 1_000 }]);
    expect(rows.map((r) => r.restartsSinceLive)).toEqual([null, null]);
    expect(instancesTable([...rows, ...instanceRows([worker(1, 3)], 'r2', 61_000, [{ pmId: 1, restarts: 3, uptimeStart: 1 }])])).toMatch(/\?$/m);
  });

  it('a release recorded before zdd kept the baseline: PM2 total, said so in the header', () => {
    const rows = instanceRows([worker(0, 18)], 'r2', 61_000, undefined);
    expect(rows[0]!.restartsSinceLive).toBeNull();
    const table = instancesTable(rows);
    expect(table).toContain('RESTARTS (PM2 TOTAL)');
    expect(table.split('\n')[1]).toMatch(/ 18$/);
  });
});
