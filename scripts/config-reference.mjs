#!/usr/bin/env node
/**
 * The README's config reference, generated from the JSON Schema (itself generated from
 * src/config/schema.ts), so the two cannot drift apart.
 *
 *   node scripts/config-reference.mjs                  print the markdown table
 *   node scripts/config-reference.mjs --check README.md exit 1 when the README's section differs
 *   node scripts/config-reference.mjs --write README.md rewrite that section
 *   (--schema <file> reads another JSON Schema than schema/zdd.schema.json)
 *
 * The section sits between `<!-- config-reference:start -->` and `<!-- config-reference:end -->`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const START = '<!-- config-reference:start -->';
export const END = '<!-- config-reference:end -->';
export const DEFAULT_SCHEMA = fileURLToPath(new URL('../schema/zdd.schema.json', import.meta.url));

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
/** Outside code spans `<deployTo>` would read as an HTML tag. */
const text = (s) =>
  cell(s)
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('');
const code = (s) => `\`${s}\``;

// zod writes Number.MAX_SAFE_INTEGER as the bound of a plain `.int()`: no real bound.
const real = (n) => (typeof n === 'number' && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);

function range(node) {
  const min = real(node.minimum) ?? (real(node.exclusiveMinimum) !== undefined ? `>${node.exclusiveMinimum}` : undefined);
  const max = real(node.maximum) ?? (real(node.exclusiveMaximum) !== undefined ? `<${node.exclusiveMaximum}` : undefined);
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

/** A short type: `integer 1–65535`, `string[]`, `integer 1–256 | "max"`, `{ [name]: string }`. */
export function typeOf(node) {
  if (!node || typeof node !== 'object') return 'any';
  if (Array.isArray(node.anyOf)) return node.anyOf.map(typeOf).join(' | ');
  if ('const' in node) return JSON.stringify(node.const);
  if (Array.isArray(node.enum)) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  switch (node.type) {
    case 'integer':
    case 'number':
      return `${node.type}${range(node)}`;
    case 'string':
      return node.pattern && node.format !== 'starts_with' ? `string (${node.pattern})` : 'string';
    case 'array': {
      const item = typeOf(node.items);
      return item.includes(' ') ? `(${item})[]` : `${item}[]`;
    }
    case 'object':
      if (!node.properties && node.additionalProperties && typeof node.additionalProperties === 'object') {
        return `{ [name]: ${typeOf(node.additionalProperties)} }`;
      }
      return 'object';
    default:
      return node.type ? String(node.type) : 'any';
  }
}

function objectBranch(node) {
  if (!node || typeof node !== 'object') return undefined;
  if (node.properties) return node;
  if (Array.isArray(node.anyOf)) return node.anyOf.find((b) => b?.properties);
  return undefined;
}

/**
 * One row per key, nested keys after their parent (`backend.port`; list items as `hosts[].host`).
 * @returns {{ key: string, type: string, default: string, description: string }[]}
 */
export function configRows(schema, prefix = '') {
  const rows = [];
  const required = new Set(schema.required ?? []);
  for (const [name, node] of Object.entries(schema.properties ?? {})) {
    const key = prefix + name;
    rows.push({
      key,
      type: typeOf(node),
      default: 'default' in node ? JSON.stringify(node.default) : required.has(name) ? 'required' : '',
      description: node.description ?? '',
    });
    const obj = objectBranch(node);
    if (obj) rows.push(...configRows(obj, `${key}.`));
    const items = node.type === 'array' ? objectBranch(node.items) : undefined;
    if (items) rows.push(...configRows(items, `${key}[].`));
  }
  return rows;
}

/** The markdown table of every config key. */
export function configReference(schema) {
  const lines = ['| key | type | default | description |', '|---|---|---|---|'];
  for (const r of configRows(schema)) {
    const def = r.default === 'required' ? '**required**' : r.default === '' ? '—' : code(cell(r.default));
    lines.push(`| ${code(r.key)} | ${code(cell(r.type))} | ${def} | ${text(r.description)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The text between the markers (trimmed), or undefined when they are missing. */
export function extractSection(text) {
  const a = text.indexOf(START);
  const b = text.indexOf(END, a + START.length);
  if (a < 0 || b < 0) return undefined;
  return text.slice(a + START.length, b).trim();
}

/** `text` with the section between the markers replaced by `table`. */
export function replaceSection(text, table) {
  const a = text.indexOf(START);
  const b = text.indexOf(END, a + START.length);
  if (a < 0 || b < 0) throw new Error(`markers not found: ${START} … ${END}`);
  return `${text.slice(0, a + START.length)}\n${table.trim()}\n${text.slice(b)}`;
}

export function readSchema(file = DEFAULT_SCHEMA) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function main(argv) {
  const opt = (name) => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (!v || v.startsWith('--')) throw new Error(`${name} needs a file`);
    return v;
  };
  const table = configReference(readSchema(opt('--schema')));
  const check = opt('--check');
  const write = opt('--write');
  if (check) {
    const section = extractSection(readFileSync(check, 'utf8'));
    if (section === undefined) {
      console.error(`${check}: no ${START} … ${END} section`);
      return 1;
    }
    if (section !== table.trim()) {
      console.error(`${check}: the config reference is out of date; run: node scripts/config-reference.mjs --write ${check}`);
      return 1;
    }
    console.log(`${check}: config reference is up to date`);
    return 0;
  }
  if (write) {
    const before = readFileSync(write, 'utf8');
    const after = replaceSection(before, table);
    if (after !== before) writeFileSync(write, after);
    console.log(`${after !== before ? 'updated' : 'unchanged'} the config reference in ${write}`);
    return 0;
  }
  process.stdout.write(table);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
  }
}
