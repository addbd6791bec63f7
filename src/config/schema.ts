/**
 * The one source of truth for zdd's configuration: types are inferred from it, defaults are filled
 * by it, the JSON Schema in schema/zdd.schema.json is generated from it and the README's config
 * reference is checked against it. Its keys are a contract with users: add, never rename or remove.
 */
import { z } from 'zod';

const command = z.string().min(1, 'expected a non-empty command line');
const commands = z.array(command);
/** A command line, or false: zdd never runs it (the user does). Absent: chosen from the lockfile. */
const installOrOff = z.union([command, z.literal(false)]);
const ms = (def: number, what: string) => z.number().int().min(1).max(3_600_000).default(def).describe(what);

export const frontendSchema = z
  .strictObject({
    root: z.string().min(1).default('frontend').describe('Folder of the frontend, relative to the config file.'),
    build: command.default('npx vite build').describe('Build command, run in `root`.'),
    install: installOrOff
      .optional()
      .describe(
        "Install before the build, on the build machine, in the folder of the lockfile nearest `root` (up to the config's folder; a workspace root when it lies above). Absent: the package manager's clean install for that lockfile (`npm ci`, `pnpm install --frozen-lockfile`, ...; `npm install --no-package-lock` without one, so the checkout gets no lockfile). Skipped while `node_modules/.zdd-install.json` holds the hash of the lockfile, package.json(s), command and Node, when the build is reused, or when node_modules is a symlink. false: never (you install).",
      ),
    outDir: z.string().min(1).default('dist').describe('Build output, relative to `root`; must contain index.html.'),
    carryOver: z
      .array(z.string().min(1))
      .default(['assets'])
      .describe(
        'Folders of the build output (relative to outDir) whose files stay reachable for the kept releases: hard-linked from them into each new release, so a tab opened on an older release still loads its lazy chunks. [] turns it off.',
      ),
    precompress: z.boolean().default(true).describe('Write .gz (and .br) beside the text files of the build, with the same mtime, for Nginx gzip_static.'),
    precompressMinBytes: z.number().int().min(0).default(1024).describe('Smallest file, in bytes, that gets precompressed.'),
  })
  .describe('The Vite frontend. Omit for a backend-only project.');

export const backendSchema = z
  .strictObject({
    root: z
      .string()
      .min(1)
      .default('backend')
      .describe('Folder of the backend, relative to the config file; copied into the release without node_modules and .git.'),
    build: command.optional().describe('Optional build command, run in `root` before copying.'),
    install: command
      .default('npm ci --omit=dev')
      .describe(
        "Install command, run inside the release's backend folder. With `workspace` and not written: from the root lockfile, for this member only (`npm ci --omit=dev --workspace <member>`, `pnpm install --prod --frozen-lockfile --filter {<member>}...`), run in the release's workspace copy.",
      ),
    buildInstall: installOrOff
      .optional()
      .describe(
        "Only with `build`: install the backend's dev dependencies on the build machine first, in the folder of the lockfile nearest `root` (or `workspace`), reused like `frontend.install` (same marker). Absent: the clean install for that lockfile. false: never.",
      ),
    include: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Files or folders outside `root` the backend reads (e.g. '../package.json'), relative to `root`: copied into the release at the same place relative to its backend folder ('../package.json' -> releases/<id>/package.json; with `workspace`, into the release's workspace copy). Part of the backend's input hash.",
      ),
    workspace: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The workspace root (npm/yarn `workspaces`, pnpm-workspace.yaml) holding the lockfile, relative to the config file; `root` is then the backend member. The release gets a copy of the root's package.json, lockfile and config, the member and the workspace packages it depends on (releases/<id>/workspace/), and backend/ links to the member there.",
      ),
    script: z.string().min(1).describe('Entry point, relative to `root`.'),
    port: z.number().int().min(1).max(65535).describe('Port the app listens on; passed as PORT.'),
    instances: z
      .union([z.number().int().min(1).max(256), z.literal('max')])
      .default('max')
      .describe('PM2 cluster instances: a number or "max".'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment for the app (values never printed).'),
    readyTimeout: ms(10_000, "ms to wait for process.send('ready')."),
    waitReady: z
      .boolean()
      .default(true)
      .describe(
        "The app calls process.send('ready') after listen: PM2 waits for it (wait_ready) and the canary requires it. false: PM2 waits for listen instead.",
      ),
    killTimeout: ms(15_000, 'ms an old worker gets to drain after SIGINT.'),
    reloadSafe: z
      .boolean()
      .default(true)
      .describe(
        "zdd loads its reload safety into every worker and the canary (node --require): `ready` once the server listens on PORT, and on SIGINT a drain that cuts no request, for an app with no such code; the app's own `ready` and shutdown handlers still run. false: the app does it all itself.",
      ),
  })
  .describe('The Node backend. Omit for a static-only project.');

export const healthcheckSchema = z
  .strictObject({
    path: z.string().startsWith('/', 'expected a path starting with "/"').default('/healthz').describe('Path that must answer 2xx.'),
    timeout: ms(30_000, 'ms the health check may take, in total.'),
  })
  .describe('How zdd decides a release is healthy.');

export const nginxSchema = z
  .strictObject({
    test: command.default('nginx -t').describe('Config test; must pass before traffic is switched.'),
    reload: command.default('nginx -s reload').describe('Reload command, run only when the Nginx config changed.'),
    config: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Nginx config files to watch: a reload happens only when one changed since the last reload zdd made (default: the whole configuration that `<nginx.test> -T` prints).',
      ),
    reloadAlways: z.boolean().default(false).describe('Reload Nginx on every deploy, even when its config did not change.'),
  })
  .describe('Optional; omit when no Nginx fronts the app.');

export const sharedSchema = z
  .strictObject({
    files: z.array(z.string().min(1)).default([]).describe('Files in <deployTo>/shared linked into each release.'),
    dirs: z.array(z.string().min(1)).default([]).describe('Folders in <deployTo>/shared linked into each release.'),
  })
  .describe("Files and folders that outlive releases, linked into the release's backend folder.");

export const hooksSchema = z
  .strictObject({
    beforeSwitch: commands.default([]).describe('Before traffic moves (migrations), in the release backend folder; a failure stops the deploy.'),
    afterSwitch: commands.default([]).describe('Right after `current` moved, before the PM2 reload; a failure switches back.'),
    afterDeploy: commands.default([]).describe('After the release is verified and recorded; a failure is reported, the deploy stays.'),
    onFailure: commands.default([]).describe('When a deploy fails, after the site is back on the previous release.'),
  })
  .describe('Shell command lines run at named points with ZDD_RELEASE set.');

const hostObject = z
  .strictObject({
    host: z.string().min(1).describe('Host name or address.'),
    user: z.string().min(1).optional().describe('SSH user.'),
    port: z.number().int().min(1).max(65535).optional().describe('SSH port (default 22).'),
    deployTo: z.string().optional().describe('Per-host override of `deployTo`.'),
    env: z.record(z.string(), z.string()).optional().describe('Per-host environment for commands and the app.'),
  })
  .describe('A host with its own settings.');

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('JSON Schema for editors; ignored by zdd.'),
    app: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'expected lowercase letters, digits and "-" only')
      .max(64)
      .describe('The PM2 app name.'),
    deployTo: z.string().min(1).describe('Absolute path of the deploy root on the target.'),
    keepReleases: z.number().int().min(1).max(100).default(5).describe('Releases kept on disk, current included.'),
    frontend: frontendSchema.optional(),
    backend: backendSchema.optional(),
    healthcheck: healthcheckSchema.prefault({}),
    nginx: nginxSchema.optional(),
    shared: sharedSchema.prefault({}),
    hooks: hooksSchema.prefault({}),
    hosts: z
      .array(z.union([z.string().min(1).describe('user@host[:port]'), hostObject]))
      .optional()
      .describe('Remote hosts to deploy to over SSH: built here once, prepared on every host, then switched together or in batches.'),
    ssh: z
      .strictObject({
        identityFile: z.string().optional().describe('Private key file for SSH.'),
        options: z.array(z.string()).default([]).describe('Extra `-o` options for SSH, e.g. "ConnectTimeout=10".'),
      })
      .optional()
      .describe('SSH settings for `hosts`. Host keys are always verified (known_hosts).'),
    rollout: z
      .strictObject({
        batch: z.number().int().min(1).optional().describe('Hosts switched at a time (default: all).'),
        beforeSwitch: z
          .enum(['first', 'all'])
          .default('first')
          .describe('Where hooks.beforeSwitch runs: on the first host only (migrations), or on every host.'),
        bake: z
          .number()
          .min(0)
          .max(3600)
          .default(10)
          .describe(
            'Seconds zdd keeps watching a new release after verify (health check, PM2 restarts, the rate of 5xx answers against the release before) before it records it ok; a breach switches back. 0 turns it off; `--bake` overrides it.',
          ),
      })
      .prefault({})
      .describe('How a release goes live: `hosts` a batch at a time, and the bake after the switch.'),
  })
  .describe('zdd configuration: zero-downtime deploys of a Vite frontend and a Node backend with PM2 and Nginx.');

/** What the user writes (defaults optional). */
export type ZddConfigInput = z.input<typeof configSchema>;
/** What zdd works with (defaults filled in, paths still as written). */
export type ZddConfigParsed = z.output<typeof configSchema>;

/**
 * The resolved config: every path absolute, plus where it came from.
 */
export interface ZddConfig extends ZddConfigParsed {
  /** Absolute path of the config file. */
  configPath: string;
  /** Folder of the config file; relative paths were resolved against it. */
  projectDir: string;
}
