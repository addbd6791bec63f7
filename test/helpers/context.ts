/**
 * A DeployContext built by hand for unit tests of steps and the runner: any host (RecordingHost or
 * LocalHost), a CI-mode Reporter writing into memory, and the deploy root's paths.
 */
import { PassThrough } from 'node:stream';
import type { ZddConfig } from '../../src/config/schema.js';
import type { Host } from '../../src/host/types.js';
import { newContext } from '../../src/deploy/context.js';
import { Reporter } from '../../src/output/reporter.js';
import type { DeployContext } from '../../src/core/types.js';

export interface TestContextOptions {
  config: ZddConfig;
  host: Host;
  releaseId?: string;
  /** The release `current` points at; undefined for none. */
  previousId?: string | undefined;
  flags?: Partial<DeployContext['flags']>;
}

export function testContext(opts: TestContextOptions): { ctx: DeployContext; log: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  const ctx = newContext({
    command: 'deploy',
    config: opts.config,
    host: opts.host,
    builder: opts.host,
    out: new Reporter({ mode: 'ci', stream, color: false }),
    flags: { dryRun: false, verbose: false, lockWait: 0, force: false, ...opts.flags },
    releaseId: opts.releaseId ?? '20261127103000',
    previousId: opts.previousId,
    state: {},
  });
  return { ctx, log: () => chunks.join('') };
}
