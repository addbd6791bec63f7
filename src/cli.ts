/**
 * The CLI entry: parses arguments, runs a command, and is the one place that maps errors to the
 * contract's exit codes (0 ok · 1 failed · 2 usage/config · 3 locked) and prints them.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, EXIT, StepFailed, ZddError, exitCodeOf } from './core/errors.js';
import { makeIO, type CommandIO, type CommandResult, type GlobalOptions } from './commands/common.js';
import { PACKAGE_VERSION } from './core/package-root.js';

type Action = (opts: Record<string, unknown> & GlobalOptions, io: CommandIO, args: string[]) => Promise<CommandResult>;

/** Lazy imports keep `zdd --help` fast. */
const actions: Record<string, () => Promise<Action>> = {
  deploy: async () => (await import('./commands/deploy.js')).deployCommand as Action,
  rollback: async () => (await import('./commands/rollback.js')).rollbackCommand as Action,
  releases: async () => (await import('./commands/releases.js')).releasesCommand as Action,
  status: async () => (await import('./commands/status.js')).statusCommand as Action,
  init: async () => (await import('./commands/init.js')).initCommand as Action,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand as Action,
  unlock: async () => (await import('./commands/unlock.js')).unlockCommand as Action,
};

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/**
 * A reader that goes away (`zdd deploy | head -3`) closes stdout: the next write fails with EPIPE,
 * which Node throws as an uncaught error and the process dies mid-deploy — after the switch that
 * left `current` unverified, PM2 on the old release and the lock held. Output is a courtesy; the
 * deploy or rollback must run to its end, so lines written to a closed stream are dropped.
 */
export function keepGoingWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.listeners('error').includes(dropClosedOutput)) stream.on('error', dropClosedOutput);
  }
}
function dropClosedOutput(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
}

export async function main(argv: string[]): Promise<number> {
  keepGoingWhenOutputCloses();
  let exitCode: number = EXIT.ok;
  const program = new Command();
  program
    .name('zdd')
    .description('Zero-downtime deploys for a Vite/React frontend and a Node backend (PM2 + Nginx).')
    .version(PACKAGE_VERSION, '-V, --version')
    .option('-c, --config <path>', 'config file (default: zdd.config.{ts,mts,js,mjs,json} in the working folder)')
    .option('--ci', 'no prompts, no spinners, plain timestamped lines (also when CI is set)')
    .option('--json', 'one JSON document on stdout; logs go to stderr')
    .option('--verbose', 'show command output and stack traces')
    .showHelpAfterError('(run zdd --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      examples(['zdd init', 'zdd doctor', 'zdd deploy', 'zdd deploy --ci', 'zdd rollback', 'zdd rollback 20261127103000', 'zdd releases --json']) +
        '\nExit codes: 0 success · 1 deploy/rollback failed (traffic stays on the previous release) · 2 bad usage or config · 3 locked\n',
    );

  const run = (name: string) =>
    async function (this: Command, ...rest: unknown[]) {
      const cmd = rest[rest.length - 1] as Command;
      const args = rest.slice(0, -2).filter((a): a is string => typeof a === 'string');
      const opts = cmd.optsWithGlobals() as Record<string, unknown> & GlobalOptions;
      exitCode = await execute(name, opts, args);
    };

  program
    .command('deploy')
    .description('build, stage, health-check and switch to a new release with no failed request')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--lock-wait <seconds>', 'wait up to this long for another deploy to finish', '0')
    .option('--bake <seconds>', 'after verify, watch the new release this long before recording it ok (default: rollout.bake)')
    .option('--force', 'deploy even when nothing changed since the current release')
    .option('--no-cache', 'build and install everything: reuse no earlier build or node_modules')
    .addHelpText(
      'after',
      examples([
        'zdd deploy',
        'zdd deploy --dry-run',
        'zdd deploy --ci --lock-wait 300',
        'zdd deploy --force',
        'zdd deploy --no-cache',
        'zdd deploy --config deploy/zdd.config.ts',
      ]),
    )
    .action(run('deploy'));

  program
    .command('rollback [release]')
    .description('switch back to a kept release (full id or unique prefix), or the newest good one before current; no rebuild')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--force', 'allow a release marked failed')
    .option('--lock-wait <seconds>', 'wait up to this long for another deploy to finish', '0')
    .option('--bake <seconds>', 'after verify, watch the release this long before recording it (default: rollout.bake)')
    .addHelpText('after', examples(['zdd rollback', 'zdd rollback 20261127103000', 'zdd rollback 2026112710 --dry-run']))
    .action(run('rollback'));

  program
    .command('releases')
    .description('list releases, newest first: id, status, git commit, created at, duration')
    .addHelpText('after', examples(['zdd releases', 'zdd releases --json']))
    .action(run('releases'));

  program
    .command('status')
    .description('current release, PM2 instances and the release each runs, lock holder')
    .addHelpText('after', examples(['zdd status', 'zdd status --json']))
    .action(run('status'));

  program
    .command('init')
    .description('write a starter zdd.config.ts and an Nginx site file for the project in this folder')
    .option('--force', 'overwrite existing files')
    .option('--deploy-to <path>', 'deploy root to write into the config')
    .addHelpText('after', examples(['zdd init', 'zdd init --deploy-to /srv/shop', 'zdd init --force']))
    .action(run('init'));

  program
    .command('doctor')
    .description('check the machine and the project: node, pm2, nginx, permissions on deployTo, config')
    .addHelpText('after', examples(['zdd doctor', 'zdd doctor --json']))
    .action(run('doctor'));

  program
    .command('unlock')
    .description('remove a deploy lock (asks first; --force in scripts)')
    .option('--force', 'do not ask')
    .addHelpText('after', examples(['zdd unlock', 'zdd unlock --force']))
    .action(run('unlock'));

  program.addOption(new Option('--no-color', 'no colours').hideHelp());

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    throw err;
  }
  return exitCode;
}

async function execute(name: string, opts: Record<string, unknown> & GlobalOptions, args: string[]): Promise<number> {
  const io = await makeIO(opts);
  const t0 = performance.now();
  let result: CommandResult | undefined;
  let error: unknown;
  try {
    const action = await actions[name]!();
    result = await action(opts, io, args);
  } catch (err) {
    error = err;
  }
  const code = error === undefined ? (result?.exitCode ?? EXIT.ok) : exitCodeOf(error);
  if (error !== undefined) report(error, io, Boolean(opts.verbose));
  if (io.mode === 'json') {
    const doc: Record<string, unknown> = {
      command: name,
      result: code === EXIT.ok ? 'ok' : code === EXIT.locked ? 'locked' : code === EXIT.usage ? 'invalid' : 'failed',
      exitCode: code,
      durationMs: Math.round(performance.now() - t0),
      ...result?.json,
      ...((error as { json?: Record<string, unknown> } | undefined)?.json ?? {}),
      ...(error !== undefined ? { error: errorJson(error, io) } : {}),
    };
    process.stdout.write(`${io.out.scrub(JSON.stringify(doc, null, 2))}\n`);
  }
  return code;
}

function errorJson(err: unknown, io: CommandIO): Record<string, unknown> {
  const e = err as ZddError & { reports?: unknown };
  const base: Record<string, unknown> = { type: e?.name ?? 'Error', message: io.out.scrub(e?.message ?? String(err)) };
  if (err instanceof ZddError && err.hint) base.hint = err.hint;
  if (err instanceof ConfigError) base.problems = err.problems;
  if (err instanceof StepFailed) {
    base.step = err.step;
    if (err.tail) base.tail = io.out.scrub(err.tail);
  }
  return base;
}

function report(err: unknown, io: CommandIO, verbose: boolean): void {
  const out = io.out;
  if (err instanceof ConfigError) {
    for (const p of err.problems) out.error(p);
    if (err.hint) out.hint(err.hint);
  } else if (err instanceof StepFailed) {
    if (err.tail) out.block(err.tail);
    out.error(`${err.step} failed: ${err.message}`, err.hint);
  } else if (err instanceof ZddError) {
    out.error(err.message, err.hint);
  } else {
    out.error(`unexpected: ${(err as Error)?.message ?? String(err)}`, verbose ? undefined : 'run again with --verbose for the stack trace');
  }
  if (verbose && err instanceof Error && err.stack) out.block(err.stack);
}
