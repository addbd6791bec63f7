/**
 * `zdd doctor`: prints one ✓ / ! / ✗ row per check (src/doctor/), with a fix under every ✗, and a
 * tally. Exit 1 when any check fails, 0 otherwise; `--json` gives the rows as they are.
 */
import { runChecks } from '../doctor/index.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export async function doctorCommand(opts: GlobalOptions, io: CommandIO, _args: string[]): Promise<CommandResult> {
  const out = io.out;
  const checks = await runChecks(opts, io.cwd, out);
  const c = out.colors;
  const sym = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗') };
  const width = Math.max(...checks.map((k) => k.name.length));
  for (const k of checks) {
    out.print(`${sym[k.level]} ${k.name.padEnd(width)}  ${k.level === 'fail' ? c.red(k.detail) : k.detail}`);
    if (k.fix) out.print(`  ${' '.repeat(width)}  ${c.cyan('fix:')} ${k.fix}`);
  }
  const fails = checks.filter((k) => k.level === 'fail').length;
  const warns = checks.filter((k) => k.level === 'warn').length;
  const tally = `${fails} problem${fails === 1 ? '' : 's'}, ${warns} warning${warns === 1 ? '' : 's'}`;
  out.summary(fails === 0, fails === 0 ? `ready to deploy (${tally})` : tally);
  return { exitCode: fails ? 1 : 0, json: { checks } };
}
