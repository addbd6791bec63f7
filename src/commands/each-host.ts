import type { ZddConfig } from '../config/schema.js';
import { EXIT } from '../core/errors.js';
import { LocalHost } from '../host/local.js';
import type { Host } from '../host/types.js';
import type { CommandIO, CommandResult } from './common.js';

/**
 * A read-mostly command (status, releases, unlock) on this machine, or on every host in turn with a
 * heading each. `agree` returns problems across hosts (say, they disagree on current): warned, and
 * exit 1 unless `failOnDisagreement` is false. JSON: `{ hosts: [{ host, ...one host's document }] }`.
 */
export async function onEachHost(
  config: ZddConfig,
  io: CommandIO,
  one: (config: ZddConfig, host: Host, io: CommandIO) => Promise<CommandResult>,
  agree: (results: Array<{ host: string; json: Record<string, any> }>) => string[],
  opts: { failOnDisagreement?: boolean } = {},
): Promise<CommandResult> {
  if (!config.hosts) return one(config, new LocalHost(), io);
  // The SSH code loads only for hosts: status, releases and unlock on this machine never need it.
  const { connectFleet } = await import('../deploy/hosts.js');
  const fleet = await connectFleet(config, io.out);
  try {
    const results: Array<{ host: string; json: Record<string, any>; exitCode: number }> = [];
    for (const [i, host] of fleet.hosts.entries()) {
      io.out.print(`${i ? '\n' : ''}${io.out.colors.bold(`== ${host.name}`)} (${fleet.entries[i]!.config.deployTo})`);
      const r = await one(fleet.entries[i]!.config, host, io);
      results.push({ host: host.name, json: (r.json ?? {}) as Record<string, any>, exitCode: r.exitCode });
    }
    const across = agree(results);
    for (const a of across) io.out.warn(a);
    const worst = Math.max(...results.map((r) => r.exitCode), across.length && opts.failOnDisagreement !== false ? EXIT.failed : EXIT.ok);
    return {
      exitCode: worst as CommandResult['exitCode'],
      json: { hosts: results.map((r) => ({ host: r.host, ...r.json })), ...(across.length ? { disagreements: across } : {}) },
    };
  } finally {
    await fleet.close();
  }
}
