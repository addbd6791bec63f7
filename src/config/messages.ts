/**
 * Turns zod issues into the one-line, human problems a ConfigError carries:
 *
 *   backend.port: expected an integer from 1 to 65535, got "abc"
 *   app: required
 *   deploy_to: unknown key (did you mean "deployTo"?)
 *
 * What a key expects is read from the JSON Schema generated from `configSchema`, so the messages
 * follow the schema without a second list of rules. A message written in the schema itself
 * (convention: it starts with "expected ") is used as is, followed by the value received.
 * Values under an `env` key are never printed (they are often secrets); only their type is.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

type Json = Record<string, unknown>;
type Seg = PropertyKey;
type Issue = z.core.$ZodIssue;

let cached: Json | undefined;
/** The config's JSON Schema (input side: keys with defaults are optional). */
export function configJsonSchema(): Json {
  cached ??= z.toJSONSchema(configSchema, { io: 'input' }) as Json;
  return cached;
}

/** `backend.port`, `shared.files[0]`, `backend.env["MY-VAR"]`. */
export function formatPath(path: readonly Seg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || '(config)';
}

/** A short rendering of a received value: JSON, truncated. */
export function brief(value: unknown, max = 40): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = undefined;
  }
  if (s === undefined) s = String(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'undefined') return 'nothing';
  return `a ${typeof value}`;
}

function isSecretPath(path: readonly Seg[]): boolean {
  const i = path.indexOf('env');
  return i >= 0 && i < path.length - 1;
}

function got(value: unknown, path: readonly Seg[]): string {
  return `got ${isSecretPath(path) ? typeName(value) : brief(value)}`;
}

/** The value at `path` in `root`, or undefined. */
export function valueAt(root: unknown, path: readonly Seg[]): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** The JSON Schema node describing the value at `path` (following object properties, records, lists, unions). */
export function nodeAt(schema: Json | undefined, path: readonly Seg[]): Json | undefined {
  let node = schema;
  for (const seg of path) {
    if (!node) return undefined;
    node = child(node, seg);
  }
  return node;
}

function child(node: Json, seg: Seg): Json | undefined {
  if (Array.isArray(node.anyOf)) {
    for (const branch of node.anyOf as Json[]) {
      const c = child(branch, seg);
      if (c) return c;
    }
    return undefined;
  }
  if (typeof seg === 'number') return (node.items as Json | undefined) ?? undefined;
  const props = node.properties as Record<string, Json> | undefined;
  if (props && typeof seg === 'string' && Object.hasOwn(props, seg)) return props[seg];
  const extra = node.additionalProperties;
  return extra && typeof extra === 'object' ? (extra as Json) : undefined;
}

/** zod writes ±Number.MAX_SAFE_INTEGER as the bounds of a plain `.int()`: no real bound. */
function realBound(n: unknown): number | undefined {
  return typeof n === 'number' && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined;
}

function numberNoun(node: Json): string {
  return node.type === 'integer' ? 'an integer' : 'a number';
}

/** "an integer from 1 to 65535", "a non-empty string", "an integer from 1 to 256 or "max"". */
export function describe(node: Json | undefined): string {
  if (!node) return 'a valid value';
  if (Array.isArray(node.anyOf)) return (node.anyOf as Json[]).map(describe).join(' or ');
  if ('const' in node) return JSON.stringify(node.const);
  if (Array.isArray(node.enum)) return (node.enum as unknown[]).map((v) => JSON.stringify(v)).join(', ');
  switch (node.type) {
    case 'integer':
    case 'number': {
      const min = realBound(node.minimum);
      const max = realBound(node.maximum);
      const noun = numberNoun(node);
      if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
      if (min !== undefined) return `${noun} ≥ ${min}`;
      if (max !== undefined) return `${noun} ≤ ${max}`;
      return noun;
    }
    case 'string':
      return node.minLength === 1 ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return `a list of ${plural(node.items as Json | undefined)}`;
    case 'object': {
      const extra = node.additionalProperties;
      if (!node.properties && extra && typeof extra === 'object') return `an object of ${plural(extra as Json)}`;
      return 'an object';
    }
    default:
      return 'a valid value';
  }
}

function plural(node: Json | undefined): string {
  if (!node) return 'values';
  if (Array.isArray(node.anyOf)) return (node.anyOf as Json[]).map(plural).join(' or ');
  switch (node.type) {
    case 'string':
      return node.minLength === 1 ? 'non-empty strings' : 'strings';
    case 'integer':
      return 'integers';
    case 'number':
      return 'numbers';
    case 'boolean':
      return 'booleans';
    case 'object':
      return 'objects';
    case 'array':
      return 'lists';
    default:
      return 'values';
  }
}

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions: prot → port is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

const normalize = (s: string) => s.toLowerCase().replace(/[-_\s.]/g, '');

/** The known key closest to `key` (same key written in snake/kebab/other case, or a small typo). */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const n = normalize(key);
  const same = known.find((k) => normalize(k) === n);
  if (same) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(n, normalize(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  const limit = n.length <= 3 ? 1 : n.length <= 6 ? 2 : 3;
  return bestD <= limit ? best : undefined;
}

/** Every object key path in the schema: [['app'], ['backend', 'port'], ...] (lists are not entered). */
function allKeyPaths(node: Json, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  const props = node.properties as Record<string, Json> | undefined;
  if (!props) return out;
  for (const [k, v] of Object.entries(props)) {
    out.push([...prefix, k]);
    out.push(...allKeyPaths(v, [...prefix, k]));
  }
  return out;
}

function unknownKey(parent: readonly Seg[], key: string, root: Json): string {
  const where = formatPath([...parent, key]);
  const node = nodeAt(root, parent);
  const known = Object.keys((node?.properties as Json | undefined) ?? {}).filter((k) => k !== '$schema');
  const near = closestKey(key, known);
  if (near) return `${where}: unknown key (did you mean "${formatPath([...parent, near])}"?)`;
  // A key that belongs one level elsewhere: `port` at the top → backend.port.
  const elsewhere = allKeyPaths(root)
    .filter((p) => p.length > 1 && normalize(p[p.length - 1]!) === normalize(key))
    .map((p) => `"${formatPath(p)}"`);
  if (elsewhere.length > 0) return `${where}: unknown key (did you mean ${elsewhere.join(' or ')}?)`;
  return known.length > 0 ? `${where}: unknown key (known keys here: ${known.join(', ')})` : `${where}: unknown key`;
}

/** The schema's own message, when it wrote one (they start with "expected "). */
function ownMessage(issue: Issue): string | undefined {
  return issue.message.startsWith('expected ') ? issue.message : undefined;
}

function bound(issue: Issue & { code: 'too_small' | 'too_big' }, node: Json | undefined): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum);
  const inclusive = issue.inclusive !== false;
  const op = small ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<';
  switch (issue.origin) {
    case 'number':
    case 'int':
    case 'bigint':
      return `${node?.type === 'integer' ? 'an integer' : 'a number'} ${op} ${limit}`;
    case 'string':
      if (small && limit === 1) return 'a non-empty string';
      return `${small ? 'at least' : 'at most'} ${limit} characters`;
    case 'array':
      return `${small ? 'at least' : 'at most'} ${limit} entries`;
    default:
      return `a value ${op} ${limit}`;
  }
}

/** One line per problem, in the order zod found them. */
export function formatIssues(issues: readonly Issue[], input: unknown, base: readonly Seg[] = []): string[] {
  const root = configJsonSchema();
  const lines: string[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const where = formatPath(path);
    const value = valueAt(input, path);
    const node = nodeAt(root, path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) lines.push(unknownKey(path, key, root));
        break;
      case 'invalid_type':
        if (value === undefined) lines.push(`${where}: required`);
        else lines.push(`${where}: ${ownMessage(issue) ?? `expected ${describe(node)}`}, ${got(value, path)}`);
        break;
      case 'too_small':
      case 'too_big': {
        const expected = ownMessage(issue) ?? `expected ${node && Array.isArray(node.anyOf) ? describe(node) : bound(issue, node)}`;
        const extra = issue.origin === 'string' && typeof value === 'string' && value.length > 0 ? ` (${value.length} characters)` : '';
        lines.push(`${where}: ${expected}, ${got(value, path)}${extra}`);
        break;
      }
      case 'invalid_format': {
        const expected = ownMessage(issue) ?? `expected ${issue.format === 'regex' ? `a string matching ${issue.pattern}` : `a ${issue.format}`}`;
        lines.push(`${where}: ${expected}, ${got(value, path)}`);
        break;
      }
      case 'invalid_union': {
        // When the value has the right shape for one branch and only fails deeper, report that branch's problems.
        const deeper = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
        if (deeper.length === 1) lines.push(...formatIssues(deeper[0]!, input, path));
        else lines.push(`${where}: expected ${describe(node)}, ${got(value, path)}`);
        break;
      }
      case 'invalid_value':
        lines.push(`${where}: expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, ${got(value, path)}`);
        break;
      case 'invalid_key':
        lines.push(`${where}: invalid key`);
        break;
      default:
        lines.push(`${where}: ${ownMessage(issue) ?? issue.message}${value === undefined ? '' : `, ${got(value, path)}`}`);
    }
  }
  return lines;
}
