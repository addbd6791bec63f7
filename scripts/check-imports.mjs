// `npm test`: the imports of src/ follow ARCHITECTURE.md — no import cycle, and a folder imports only
// its own files and folders of a lower layer (static and dynamic imports; `import type` does not
// count, it leaves nothing at run time). Prints each problem found and exits 1.
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
// The layers of ARCHITECTURE.md, bottom first; '.' is src/ itself (cli.ts, index.ts).
const LAYERS = [
  ['core', 'runtime'],
  ['config', 'host', 'output'],
  ['releases'],
  ['build', 'pm2', 'nginx'],
  ['steps'],
  ['deploy'],
  ['init'],
  ['doctor'],
  ['commands'],
  ['.'],
];
const layerOf = (f) => {
  const dir = path.relative(src, path.dirname(f)).split(path.sep)[0] || '.';
  const i = LAYERS.findIndex((l) => l.includes(dir));
  return { dir, i };
};
const upward = [];
for (const [f, deps] of graph) {
  const from = layerOf(f);
  if (from.i < 0) upward.push(`${path.relative(src, f)}: folder ${from.dir}/ has no layer in ARCHITECTURE.md`);
  for (const d of deps) {
    const to = layerOf(d);
    if (to.dir === from.dir) continue;
    // runtime/ is shipped into apps: it imports nothing of zdd's.
    if (to.i >= from.i || from.dir === 'runtime')
      upward.push(`${path.relative(src, f)} imports ${path.relative(src, d)}: ${from.dir}/ may not import ${to.dir}/`);
  }
}
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
if (cycles.length || upward.length) {
  for (const c of cycles) console.error(`import cycle: ${c}`);
  for (const u of upward) console.error(`import against the layers: ${u}`);
  process.exit(1);
}
console.log(`imports follow the layers, no cycle (${files.length} files in src/)`);
