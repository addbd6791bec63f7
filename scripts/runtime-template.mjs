// templates/reload-safe.mjs and examples/ws-app/backend/reload-safe.mjs are src/runtime/index.ts
// compiled to plain ESM (types stripped, comments kept), for apps that copy the helper instead of
// depending on zdd. `node scripts/runtime-template.mjs --write` rewrites both; the runtime's unit test
// compares them with renderRuntimeTemplate() and fails when they are out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
export const runtimeSource = `${root}src/runtime/index.ts`;
export const runtimeCopies = [`${root}templates/reload-safe.mjs`, `${root}examples/ws-app/backend/reload-safe.mjs`];

export function renderRuntimeTemplate() {
  const src = readFileSync(runtimeSource, 'utf8');
  const doc = /^\/\*\*[\s\S]*?\*\//.exec(src)?.[0] ?? '';
  const js = ts.transpileModule(src, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: false },
  }).outputText;
  return (
    "// reload-safe.mjs: zdd's runtime helper (the package exports it as `zdd/runtime`), to copy into a\n" +
    '// backend. Zero dependencies; Node >= 18.2. Generated from src/runtime/index.ts: do not edit here.\n' +
    `${doc}\n${js}`
  );
}

if (process.argv.includes('--write')) {
  const text = renderRuntimeTemplate();
  for (const f of runtimeCopies) writeFileSync(f, text);
  console.log(`wrote ${runtimeCopies.length} copies of the runtime helper`);
}
