/**
 * Writes schema/zdd.schema.json from `configSchema` (the build runs it after tsc:
 * `node dist/config/write-schema.js`). The output is deterministic, so the committed file can be
 * checked against a fresh build. Editors use it through `"$schema"` in zdd.config.json; strict
 * objects keep `additionalProperties: false`, so a typo is flagged while typing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { packagePath } from '../core/package-root.js';
import { configSchema } from './schema.js';

export const SCHEMA_ID = 'https://unpkg.com/zdd/schema/zdd.schema.json';

/** The JSON Schema (input side: keys that have defaults are optional). */
export function buildJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: SCHEMA_ID, title: 'zdd config', ...rest };
}

export function schemaText(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}

/** Where the package keeps it: <package>/schema/zdd.schema.json. */
export const SCHEMA_FILE = packagePath('schema', 'zdd.schema.json');

export function writeSchema(file = SCHEMA_FILE): boolean {
  const text = schemaText();
  let before: string | undefined;
  try {
    before = readFileSync(file, 'utf8');
  } catch {
    before = undefined;
  }
  if (before === text) return false;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const changed = writeSchema();
  console.log(`${changed ? 'wrote' : 'unchanged'} ${path.relative(process.cwd(), SCHEMA_FILE) || SCHEMA_FILE}`);
}
