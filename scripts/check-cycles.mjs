// `npm test`: no import cycle in src/ (static and dynamic imports; `import type` does not count, it
// leaves nothing at run time). Prints each cycle found and exits 1.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const files = readdirSync(src, { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(src, f));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const graph = new Map(
  files.map((f) => {
    const deps = [...readFileSync(f, 'utf8').matchAll(IMPORT)].map((m) => path.resolve(path.dirname(f), (m[1] ?? m[2]).replace(/\.js$/, '.ts')));
    return [f, deps.filter((d) => files.includes(d))];
  }),
);
const cycles = [];
const state = new Map(); // 1: on the stack, 2: done
const visit = (f, stack) => {
  if (state.get(f) === 2) return;
  if (state.get(f) === 1) return cycles.push([...stack.slice(stack.indexOf(f)), f].map((x) => path.relative(src, x)).join(' -> '));
  state.set(f, 1);
  for (const d of graph.get(f)) visit(d, [...stack, f]);
  state.set(f, 2);
};
for (const f of files) visit(f, []);
if (cycles.length) {
  for (const c of cycles) console.error(`import cycle: ${c}`);
  process.exit(1);
}
console.log(`no import cycle in src/ (${files.length} files)`);
