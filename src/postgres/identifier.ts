/**
 * `coordination.table`: `table` or `schema.table`, each part a plain SQL identifier. Names are quoted, so they are
 * used exactly as written (case-sensitive) and can never inject SQL.
 */
import { usageError } from '../errors.js';

const PART = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export interface TableName {
  schema: string | null;
  name: string;
  /** `"schema"."name"` or `"name"`, safe to put in SQL text. */
  quoted: string;
}

export function parseTableName(text: string, key = 'coordination.table'): TableName {
  const parts = text.split('.');
  const valid =
    parts.length >= 1 && parts.length <= 2 && parts.every((p) => PART.test(p) && Buffer.byteLength(p) <= 63);
  if (!valid) {
    throw usageError(
      `${key} ${JSON.stringify(text)} is not a table name: use "table" or "schema.table", each part letters, digits, "_" or "$", starting with a letter or "_", at most 63 bytes`,
    );
  }
  const quote = (part: string): string => `"${part}"`;
  const [first, second] = parts as [string, string | undefined];
  return second === undefined
    ? { schema: null, name: first, quoted: quote(first) }
    : { schema: first, name: second, quoted: `${quote(first)}.${quote(second)}` };
}

/**
 * A name from the configuration (a lock name, a table name) as it may appear in a message: quoted, control
 * characters escaped (nothing can drive a terminal), and cut after `max` characters with the full length said.
 */
export function showName(name: string, max = 60): string {
  const chars = [...name];
  const shown = chars.length > max ? chars.slice(0, max).join('') : name;
  const quoted = JSON.stringify(shown).replace(/[\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return chars.length > max ? `${quoted.slice(0, -1)}…" (${chars.length} characters)` : quoted;
}
