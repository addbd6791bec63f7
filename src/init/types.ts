/** What `zdd init` detects, as the printing and the templates use it. Every guess says where it came from. */
import type { PackageManager } from '../build/package-manager.js';

/** A value and where it came from (printed as "(from <from>)"). */
export interface Found<T> {
  value: T;
  from: string;
}

export interface WorkspaceInfo {
  /** Relative to the project folder ("." for the root). */
  root: string;
  kind: 'npm' | 'yarn' | 'pnpm';
  /** Where the workspace was declared: `package.json workspaces` or `pnpm-workspace.yaml`. */
  from: string;
  /** Member folders, relative to the project folder. */
  members: string[];
  lockfile?: string;
  manager?: PackageManager;
}

export interface ProxyPath {
  /** The location prefix, as Vite's server.proxy key says it (`/api`). */
  prefix: string;
  /** The dev proxy strips the prefix (`rewrite: (p) => p.replace(/^\/api/, '')`): Nginx must too. */
  strip: boolean;
}

export interface DetectedFrontend {
  /** Relative to the project folder ("." for the root). */
  root: string;
  build: string;
  outDir: string;
  /** Why we think it is a Vite app, and where outDir came from (for printing). */
  reason: string;
  outDirFrom: string;
  viteConfig?: string;
  /** The backend paths of Vite's dev proxy, and the keys skipped (regexes). */
  proxy: ProxyPath[];
  proxySkipped: string[];
  /** A port in a proxy target (`target: 'http://localhost:4000'`): a hint for the backend's port. */
  proxyPort?: Found<number>;
  /** The install zdd runs for the frontend, and why. */
  install: Found<string>;
}

export interface Route {
  method: string;
  /** The full path, mounts resolved. */
  path: string;
  /** file:line relative to the project folder. */
  at: string;
  /** The handler renders a view (it may fail without a view engine); ranked last. */
  renders: boolean;
}

export interface DetectedBackend {
  root: string;
  /** Entry point relative to root. */
  script: string;
  /** Where the entry came from, e.g. `start script "node ./bin/www"`, `main`, `file`; `guess` when nothing was found. */
  scriptFrom: string;
  /** The build that makes `script` from the entry named (`tsconfig.json outDir dist`, `build script (esbuild)`). */
  builtBy?: string;
  /** The source file read for the entry (src/index.ts for dist/index.js), relative to root. */
  source?: string;
  port: number;
  /** Where the port came from: `<file>`, `start script`, or `default`. */
  portFrom: string;
  build?: string;
  buildFrom?: string;
  install: Found<string>;
  healthcheck: { path: string; from: string; fallback: boolean };
  routes: Route[];
  /** Folders the backend serves itself with a static middleware (`build`, `public`). */
  servesStatic: string[];
  shared: { dirs: string[]; files: string[]; active: boolean; from: string[]; notes: string[] };
  include: { paths: string[]; from: string[] };
  notes: string[];
}

export interface Detection {
  app: string;
  /** Where the app name came from. */
  appFrom: 'package.json' | 'folder';
  layout: 'separate' | 'single' | 'workspace' | 'frontend-only' | 'backend-only';
  workspace?: WorkspaceInfo;
  frontend?: DetectedFrontend;
  backend?: DetectedBackend;
  /** The Nginx locations that go to the backend, and why. */
  nginx: { locations: ProxyPath[]; from: string; notes: string[] };
  notes: string[];
}
