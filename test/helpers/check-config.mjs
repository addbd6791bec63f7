#!/usr/bin/env node
/**
 * A tiny hidden CLI for the config tests: loads the config exactly as `zdd` does (dist build),
 * prints each problem on its own line (and the hint) to stderr and exits with the error's exit code
 * (2 for a ConfigError), or prints "ok" and exits 0.
 *
 *   node test/helpers/check-config.mjs [--config <file>]     (in the project folder)
 */
import { loadConfig } from '../../dist/config/load.js';
import { ZddError } from '../../dist/core/errors.js';

const args = process.argv.slice(2);
const i = args.indexOf('--config');
const configPath = i >= 0 ? args[i + 1] : undefined;

try {
  const config = await loadConfig({ configPath, cwd: process.cwd() });
  if (args.includes('--print')) process.stdout.write(`${JSON.stringify(config)}\n`);
  process.stdout.write('ok\n');
  process.exitCode = 0;
} catch (err) {
  if (err instanceof ZddError) {
    const problems = Array.isArray(err.problems) ? err.problems : [err.message];
    for (const p of problems) process.stderr.write(`${p}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`unexpected: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  }
}
