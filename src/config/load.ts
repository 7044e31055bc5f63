// Reading a YAML file and validating it with a zod schema, with errors that name the file,
// the key and what was expected.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../util/errors.js';

export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, '', `cannot read: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const where = err.linePos ? `line ${err.linePos[0].line} column ${err.linePos[0].col}` : '';
    throw new ConfigError(file, where, `invalid YAML: ${err.message.split('\n')[0]}`);
  }
  return doc.toJS() ?? {};
}

/** Parses with the schema; on failure throws a ConfigError for the first issue. */
export function validate<S extends z.ZodType>(file: string, schema: S, data: unknown): z.output<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  throw new ConfigError(file, keyPath(issue.path), msg);
}
