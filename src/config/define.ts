import type { ZddConfigInput } from './schema.js';

/** Identity helper that gives a `zdd.config.ts` completion and type checking. */
export function defineConfig(config: ZddConfigInput): ZddConfigInput {
  return config;
}
