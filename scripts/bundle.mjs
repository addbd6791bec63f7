// `npm run build`, after tsc: the CLI as one ES module bundle (dist/bundle/cli.js, plus a chunk per
// lazily loaded command), which bin/zdd runs. Loading ~40 of zdd's modules and ~90 of zod's one file
// at a time cost a deploy or a rollback about 0.1 s of start-up (0.2 s on a busy machine); the bundle
// loads them as a handful of files. Only small, pure-ESM dependencies are bundled; PM2, execa, jiti
// and ora stay packages, loaded as before. dist/ from tsc stays the library (`zdd`,
// `zdd/runtime`).
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUNDLED = ['zod', 'commander', 'chalk', 'ci-info'];
const bundled = (id) => BUNDLED.some((p) => id === p || id.startsWith(`${p}/`));

rmSync(`${root}dist/bundle`, { recursive: true, force: true });
await build({
  cwd: root,
  input: { cli: 'dist/cli.js' },
  platform: 'node',
  // Bare names of packages not bundled; '#…' are a bundled package's own imports (chalk's).
  external: (id) => id.startsWith('node:') || (!/^[./#]/.test(id) && !bundled(id)),
  output: { dir: 'dist/bundle', format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  logLevel: 'warn',
});

/** One file with no imports but Node's, for code zdd ships somewhere else to run. */
const standalone = (input, file, format) =>
  build({ cwd: root, input, platform: 'node', external: (id) => id.startsWith('node:'), output: { file, format }, logLevel: 'warn' });

// zdd's reload safety for apps that do nothing for it (src/runtime/preload.ts and the runtime it
// uses), as CommonJS: zdd copies it into every release and starts the app with `node --require` on
// it, for CommonJS and ES module apps alike.
await standalone('dist/runtime/preload.js', 'dist/runtime/reload-safe.cjs', 'cjs');
// The SSH host's agent (src/host/agent.ts with the host code it runs): zdd ships this one file to
// each target (see src/host/ssh.ts).
await standalone('dist/host/agent.js', 'dist/host/agent.mjs', 'esm');
