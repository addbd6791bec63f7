/**
 * Which package manager a project uses, told by its lockfile, and the install commands that match.
 * Pure: callers find the lockfile (on the builder through a host, or on this machine for init).
 */
export type PackageManager = 'npm' | 'pnpm' | 'yarn';

/** Lockfile names, in the order they are looked for in one folder. */
export const MANAGER_LOCKFILES: { file: string; manager: PackageManager }[] = [
  { file: 'package-lock.json', manager: 'npm' },
  { file: 'npm-shrinkwrap.json', manager: 'npm' },
  { file: 'pnpm-lock.yaml', manager: 'pnpm' },
  { file: 'yarn.lock', manager: 'yarn' },
];

export function managerOfLockfile(file: string): PackageManager | undefined {
  return MANAGER_LOCKFILES.find((l) => l.file === file)?.manager;
}

/**
 * The install command for `manager`: everything (a frontend build needs its devDependencies) or
 * production only (the backend in a release). `yarnBerry`: Yarn 2+ (a .yarnrc.yml beside the lockfile).
 * Without a lockfile npm installs from package.json.
 */
export function installCommand(manager: PackageManager | undefined, o: { production: boolean; yarnBerry?: boolean }): string {
  switch (manager) {
    case 'pnpm':
      return o.production ? 'pnpm install --frozen-lockfile --prod' : 'pnpm install --frozen-lockfile';
    case 'yarn':
      if (o.yarnBerry) return o.production ? 'yarn workspaces focus --production' : 'yarn install --immutable';
      return o.production ? 'yarn install --frozen-lockfile --production' : 'yarn install --frozen-lockfile';
    case 'npm':
      return o.production ? 'npm ci --omit=dev' : 'npm ci';
    default:
      return o.production ? 'npm install --omit=dev' : 'npm install';
  }
}
