/**
 * The canary's two extra findings, as pure functions on what it saw: files the app wrote in its
 * release (with the shared line that keeps them), and the package of a native module that failed to
 * load, from the error texts Node, `bindings` and npm print.
 */
import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/host/types.js';
import { failedNativeModule, nativeHint, writtenState } from '../../src/steps/canary-checks.js';

const snap = (files: Array<[string, number, number]>) =>
  new Map(files.map(([p, size, mtimeMs]): [string, FileEntry] => [p, { path: p, size, mtimeMs, inode: `i:${p}` }]));

describe('writtenState', () => {
  const before = snap([
    ['server.js', 100, 1],
    ['config.json', 10, 1],
  ]);
  it('a new file under a folder: shared.dirs with that folder; a new top-level file: shared.files', () => {
    const after = snap([
      ['server.js', 100, 1],
      ['config.json', 10, 1],
      ['data/app.db', 8192, 5],
      ['data/app.db-wal', 0, 5],
      ['sessions.json', 2, 5],
    ]);
    expect(writtenState(before, after, '/srv/shop/shared')).toEqual([
      "the app wrote data/app.db, data/app.db-wal inside the release while booting: it would start empty in every new release; keep it in /srv/shop/shared with shared.dirs: ['data']",
      "the app wrote sessions.json inside the release while booting: it would start empty in every new release; keep it in /srv/shop/shared with shared.files: ['sessions.json']",
    ]);
  });

  it('a deployed file the app changed is reported as changed; nothing written: no warning; no snapshot: no warning', () => {
    const after = snap([
      ['server.js', 100, 1],
      ['config.json', 12, 9],
    ]);
    expect(writtenState(before, after, '/s')).toEqual([
      "the app changed config.json inside the release while booting: each new release would start from the copy deployed with it; keep it in /s with shared.files: ['config.json']",
    ]);
    expect(writtenState(before, before, '/s')).toEqual([]);
    expect(writtenState(undefined, before, '/s')).toEqual([]);
  });
});

describe('failedNativeModule', () => {
  it('bindings could not find the compiled file: the package, not bindings', () => {
    const out = `Error: Could not locate the bindings file. Tried:
 → /srv/shop/releases/1/backend/node_modules/better-sqlite3/build/better_sqlite3.node
 → /srv/shop/releases/1/backend/node_modules/better-sqlite3/build/Release/better_sqlite3.node
    at bindings (/srv/shop/releases/1/backend/node_modules/bindings/bindings.js:126:9)
    at new Database (/srv/shop/releases/1/backend/node_modules/better-sqlite3/lib/database.js:48:64)`;
    expect(failedNativeModule(out)).toBe('better-sqlite3');
  });

  it('compiled against another Node, Cannot find module …/build/Release/….node, invalid ELF header (scoped, nested)', () => {
    expect(
      failedNativeModule(`Error: The module '/app/node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node'
was compiled against a different Node.js version using NODE_MODULE_VERSION 115.`),
    ).toBe('bcrypt');
    expect(failedNativeModule("Error: Cannot find module '/app/node_modules/@scope/sharpish/build/Release/sharp.node'")).toBe('@scope/sharpish');
    expect(failedNativeModule('Error: /app/node_modules/knex/node_modules/sqlite3/build/Release/node_sqlite3.node: invalid ELF header')).toBe('sqlite3');
    // What Node 20 prints for a truncated .node and for a missing one required relatively by its package.
    expect(failedNativeModule('Error: /tmp/x/node_modules/fake-native/build/Release/fake.node: file too short\n    at Module._extensions..node')).toBe(
      'fake-native',
    );
    expect(
      failedNativeModule(
        "Error: Cannot find module './build/Release/fake.node'\nRequire stack:\n- /tmp/x/node_modules/fake-native/index.js\n- /tmp/x/server.js",
      ),
    ).toBe('fake-native');
  });

  it('an app error that is not about a native module: undefined', () => {
    expect(failedNativeModule("Error: Cannot find package 'ws' imported from /app/server.js")).toBeUndefined();
    expect(failedNativeModule('TypeError: x is not a function\n    at /app/node_modules/express/lib/router.js:1:1')).toBeUndefined();
  });

  it('the hint: npm install-scripts approve <pkg> in the backend folder, commit package.json, or rebuild', () => {
    const h = nativeHint('better-sqlite3', '/home/dev/shop/server', 'v24.1.0');
    expect(h).toContain("npm 11 skips the install scripts a package.json's allowScripts denies");
    expect(h).toContain('`npm install-scripts approve better-sqlite3` in the backend folder (server) and commit package.json');
    expect(h).toContain('`npm rebuild better-sqlite3`');
    expect(h).toContain('v24.1.0');
  });
});
