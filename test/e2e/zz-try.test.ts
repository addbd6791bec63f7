import { it } from 'vitest';
import { makeFleet } from '../helpers/hosts.js';
it('try', async () => {
  const f = await makeFleet({ count: 2, version: 'v1' });
  try {
    let r = await f.zdd(['deploy', '--dry-run']);
    console.log(r.exitCode, r.all.slice(-2500));
    r = await f.zdd(['deploy', '--dry-run', '--json']);
    console.log(r.exitCode, r.stdout.slice(0, 600));
    console.log((await import('node:child_process')).execSync(`find ${f.work}/host-0 -maxdepth 2`).toString());
  } finally {
    await f.stop();
  }
}, 300000);
