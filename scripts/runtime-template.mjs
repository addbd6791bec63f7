// templates/reload-safe.mjs and examples/ws-app/backend/reload-safe.mjs are src/runtime/ (process.ts,
// drain.ts, answers.ts, index.ts, in that order, their imports of each other dropped) compiled to one
// plain ESM file (types stripped, comments kept), for apps that copy the helper instead of depending
// on zdd. `node scripts/runtime-template.mjs --write` rewrites both; the runtime's unit test compares
// them with renderRuntimeTemplate() and fails when they are out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
export const runtimeSources = ['process', 'drain', 'answers', 'index'].map((f) => `${root}src/runtime/${f}.ts`);
export const runtimeCopies = [`${root}templates/reload-safe.mjs`, `${root}examples/ws-app/backend/reload-safe.mjs`];

export function renderRuntimeTemplate() {
  const sources = runtimeSources.map((f) => readFileSync(f, 'utf8'));
  // The file comment of index.ts heads the copy; the others' comments stay with their code.
  const doc = /^\/\*\*[\s\S]*?\*\//.exec(sources.at(-1))?.[0] ?? '';
  const js = sources
    .map((src, i) => {
      const out = ts.transpileModule(i === sources.length - 1 ? src.replace(doc, '') : src, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: false },
      }).outputText;
      return out.replace(/^import [^;]* from '\.\/[^']+';\n/gm, '').replace(/^export \{\};\n/gm, '');
    })
    .join('\n');
  return (
    "// reload-safe.mjs: zdd's runtime helper (the package exports it as `zdd/runtime`), to copy into a\n" +
    '// backend. Zero dependencies; Node >= 18.2. Generated from src/runtime/: do not edit here.\n' +
    `${doc}\n${js}`
  );
}

if (process.argv.includes('--write')) {
  const text = renderRuntimeTemplate();
  for (const f of runtimeCopies) writeFileSync(f, text);
  console.log(`wrote ${runtimeCopies.length} copies of the runtime helper`);
}
