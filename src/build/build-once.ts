import type { DeployContext } from '../core/types.js';

/** What the hosts of one deploy share: each user build runs once, here, and is uploaded to each. */
export interface BuildOnce {
  frontend?: Promise<string>;
  backend?: Promise<void>;
  /** The build machine's installs (install-frontend, install-backend-build), by folder and command. */
  installs?: Record<string, Promise<void>>;
  /** Local staging folders to remove at the end. */
  dirs: string[];
}

export function buildOnceOf(ctx: DeployContext): BuildOnce | undefined {
  return ctx.state.buildOnce;
}
