// The pure half of doctor's staged boot (src/doctor/staged-rows.ts), on output as npm, pnpm and Node
// print it: the install-script notices, the package a boot could not load, and the app-state row.
import { describe, expect, it } from 'vitest';
import type { ZddConfig } from '../../src/config/schema.js';
import { failedNativeModule } from '../../src/steps/canary-checks.js';
import { explainBootFailure, installScriptsRow, missingPackage, outsideFile, scriptNotices, stateRow } from '../../src/doctor/staged-rows.js';

const config = { projectDir: '/p', backend: { root: '/p/server', install: 'npm ci --omit=dev' }, shared: { files: [], dirs: [] } } as unknown as ZddConfig;

// npm 11.19.1, default settings: the scripts ran, then this notice.
const NPM_WARN = `added 38 packages in 2m
npm warn install-scripts 1 package has install scripts not yet covered by allowScripts:
npm warn install-scripts   better-sqlite3@12.11.1 (install: prebuild-install || node-gyp rebuild --release)
npm warn install-scripts
npm warn install-scripts Run \`npm install-scripts ls\` to review, or \`npm install-scripts approve <pkg>\` to allow.`;
// npm 11.19.1 with strict-allow-scripts=true: nothing installed, exit 1.
const NPM_STRICT = `npm error code ESTRICTALLOWSCRIPTS
npm error --strict-allow-scripts: 1 package(s) have install scripts not covered by allowScripts:
npm error   @scope/native@1.0.0 (install: (install scripts present))
npm error Approve them with \`npm install-scripts approve\`, deny them with \`npm install-scripts deny\`, or bypass this check with \`--dangerously-allow-all-scripts\`.`;
// pnpm 10: build scripts of dependencies are skipped unless approved.
const PNPM = `dependencies:
+ better-sqlite3 12.11.1

╭ Warning ─────────────────────────────────────────────────────────────────╮
│   Ignored build scripts: better-sqlite3, esbuild.                         │
│   Run "pnpm approve-builds" to pick which dependencies should be allowed. │
╰───────────────────────────────────────────────────────────────────────────╯`;

describe('scriptNotices', () => {
  it('reads npm 11’s notice, its strict refusal and pnpm’s ignored builds', () => {
    expect(scriptNotices(NPM_WARN)).toEqual([{ kind: 'npm-unreviewed', packages: ['better-sqlite3@12.11.1'] }]);
    expect(scriptNotices(NPM_STRICT)).toEqual([{ kind: 'npm-strict', packages: ['@scope/native@1.0.0'] }]);
    expect(scriptNotices(PNPM)).toEqual([{ kind: 'pnpm-ignored', packages: ['better-sqlite3', 'esbuild'] }]);
    expect(scriptNotices('added 3 packages in 1s')).toEqual([]);
  });

  it('gives ! when they ran, ✗ when npm refused, ✗ for skipped builds only when the boot then failed', () => {
    expect(installScriptsRow(scriptNotices(NPM_WARN), config, false)).toMatchObject({
      level: 'warn',
      fix: 'in server: `npm install-scripts approve better-sqlite3`, then commit package.json (its allowScripts goes with the release)',
    });
    expect(installScriptsRow(scriptNotices(NPM_STRICT), config, false)?.fix).toContain('npm install-scripts approve @scope/native');
    expect(installScriptsRow(scriptNotices(NPM_STRICT), config, false)?.level).toBe('fail');
    const pnpm = scriptNotices(PNPM);
    expect(installScriptsRow(pnpm, config, true)?.level).toBe('warn');
    expect(installScriptsRow(pnpm, config, false)).toMatchObject({ level: 'fail', fix: expect.stringContaining('pnpm approve-builds') });
    expect(installScriptsRow([], config, true)).toBeUndefined();
  });
});

describe('what a failed boot could not load', () => {
  it('names the package of an ESM or CommonJS resolution error, scoped or with a subpath', () => {
    expect(missingPackage("Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'ws' imported from /tmp/x/server.mjs")).toBe('ws');
    expect(missingPackage("Error: Cannot find module 'lodash/fp'\nRequire stack:")).toBe('lodash');
    expect(missingPackage("Error: Cannot find module '@fastify/static'")).toBe('@fastify/static');
    expect(missingPackage("Error: Cannot find module './routes/users'")).toBeUndefined();
  });

  it('says a devDependency is left out by the production install, and a package in no list at all', () => {
    const pkg = JSON.stringify({ dependencies: { express: '^4' }, devDependencies: { dotenv: '^16' } });
    expect(explainBootFailure("Error: Cannot find module 'dotenv'", pkg, config)).toEqual({
      detail: 'dotenv is needed at run time, but it is in devDependencies; the release installs with `npm ci --omit=dev`, which leaves it out',
      fix: 'move dotenv to dependencies: `npm install --save-prod dotenv` in server',
    });
    expect(explainBootFailure("Error: Cannot find module 'cors'", pkg, config)?.detail).toBe(
      'cors is needed at run time, but it is not in server/package.json (it works only where it happens to be installed)',
    );
    expect(explainBootFailure("Error: Cannot find module 'express'", pkg, config)).toBeUndefined();
  });

  it('names a file the app reads beside its folder, which a release does not have', () => {
    const staged = '/tmp/zdd-doctor-abc/release/backend';
    const enoent = "Error: ENOENT: no such file or directory, open '/tmp/zdd-doctor-abc/release/package.json'";
    expect(outsideFile(enoent, staged)).toBe('../package.json');
    expect(outsideFile("Error: Cannot find module '/tmp/zdd-doctor-abc/release/shared/util.js'", staged)).toBe('../shared/util.js');
    expect(outsideFile("Error: ENOENT: no such file or directory, open '/tmp/zdd-doctor-abc/release/backend/version.json'", staged)).toBeUndefined();
    expect(explainBootFailure(enoent, '{}', config, staged)).toEqual({
      detail: "the app reads ../package.json, outside backend.root: a release holds only backend.root's files, so it is not there",
      fix: "have the release carry it (backend.include: ['../package.json']), or move it into server",
    });
  });

  it('names a native module that did not load', () => {
    const out = 'Error: Could not locate the bindings file. Tried:\n → /tmp/r/backend/node_modules/better-sqlite3/build/better_sqlite3.node';
    expect(failedNativeModule(out)).toBe('better-sqlite3');
    expect(explainBootFailure(out, '{}', config)?.fix).toContain('npm install-scripts approve better-sqlite3');
  });
});

describe('stateRow', () => {
  it('✓ when nothing changed; ! with the shared line for a database written or copied', () => {
    const before = new Map([['server.js', '10 1']]);
    expect(stateRow(before, new Map(before), config).level).toBe('ok');
    const row = stateRow(before, new Map([...before, ['data/app.db', '4096 2'], ['app.sqlite', '1 2']]), config);
    expect(row.level).toBe('warn');
    expect(row.detail).toMatch(/^while it ran, the app wrote data\/app\.db, app\.sqlite inside its own folder: a database or uploads there stays/);
    expect(row.fix).toBe(
      "shared: { dirs: ['data'], files: ['app.sqlite'] } keeps it in <deployTo>/shared across releases (a shared file must exist there before the deploy); or write it outside the app's folder",
    );
    expect(stateRow(new Map([['dev.db', '1 1']]), new Map([['dev.db', '1 1']]), config).detail).toMatch(
      /^dev\.db in server would be copied into every release/,
    );
  });
});
