/**
 * COPY takes no bind parameters, so `copyToCsv`'s `params` are written into the query as SQL literals. This file
 * scans the query just enough to do that safely: `$1`, `$2`… are replaced only outside string literals, quoted
 * identifiers, dollar-quoted bodies and comments, and the query must be one statement (a `;` anywhere but at the
 * end is refused, since COPY runs over the simple-query protocol, which would run a second statement).
 * Assumes `standard_conforming_strings = on` (PostgreSQL's default since 9.1).
 */
import { usageError } from '../errors.js';

type Escape = (text: string) => string;

/** A scanned query: the text between placeholders, and the placeholder numbers. */
interface Scan {
  /** `pieces.length === refs.length + 1`; the query is pieces[0] + $refs[0] + pieces[1] + … */
  pieces: string[];
  refs: number[];
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

function scan(query: string): Scan {
  const pieces: string[] = [];
  const refs: number[] = [];
  let start = 0;
  let i = 0;
  const n = query.length;
  const skipQuoted = (quote: string, backslashes: boolean): void => {
    i++; // opening quote
    while (i < n) {
      const c = query[i];
      if (backslashes && c === '\\') i += 2;
      else if (c === quote && query[i + 1] === quote) i += 2;
      else if (c === quote) return void i++;
      else i++;
    }
    throw usageError('copyToCsv: the query has an unterminated quoted string or identifier');
  };
  while (i < n) {
    const c = query[i]!;
    const prev = i > 0 ? query[i - 1]! : ' ';
    if (c === "'") {
      // E'…' strings treat backslash as an escape; the E must start a token.
      const escaped = (prev === 'E' || prev === 'e') && (i < 2 || !IDENT_CHAR.test(query[i - 2]!));
      skipQuoted("'", escaped);
    } else if (c === '"') {
      skipQuoted('"', false);
    } else if (c === '-' && query[i + 1] === '-') {
      const end = query.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && query[i + 1] === '*') {
      let depth = 0; // block comments nest in PostgreSQL
      do {
        if (query.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (query.startsWith('*/', i)) {
          depth--;
          i += 2;
        }
        else if (i >= n) throw usageError('copyToCsv: the query has an unterminated /* comment');
        else i++;
      } while (depth > 0);
    } else if (c === '$' && !IDENT_CHAR.test(prev)) {
      const param = /^\$(\d+)/.exec(query.slice(i, i + 12));
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(query.slice(i, i + 70));
      if (param !== null) {
        pieces.push(query.slice(start, i));
        refs.push(Number(param[1]));
        i += param[0].length;
        start = i;
      } else if (tag !== null) {
        const end = query.indexOf(tag[0], i + tag[0].length);
        if (end === -1) throw usageError(`copyToCsv: the query has an unterminated ${tag[0]} quoted string`);
        i = end + tag[0].length;
      } else i++;
    } else if (c === ';') {
      if (query.slice(i + 1).trim() !== '' && !onlySemicolons(query.slice(i + 1))) {
        throw usageError('copyToCsv: the query must be a single statement (found ";" before its end)');
      }
      i++;
    } else i++;
  }
  pieces.push(query.slice(start));
  return { pieces, refs };
}

const onlySemicolons = (text: string): boolean => /^[\s;]*$/.test(text);

/** One parameter as an SQL literal, with the same meaning a bind parameter of that JS type would have. */
export function sqlLiteral(value: unknown, escapeLiteral: Escape, index: number): string {
  const where = `copyToCsv: params[${index}]`;
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint') return value < 0n ? `(${value})` : String(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return "'NaN'";
    if (!Number.isFinite(value)) return value > 0 ? "'Infinity'" : "'-Infinity'";
    // Parentheses keep `x - $1` from becoming `x --1` (a comment).
    return value < 0 || Object.is(value, -0) ? `(${value})` : String(value);
  }
  if (typeof value === 'string') {
    if (value.includes('\0')) throw usageError(`${where} contains a NUL character, which PostgreSQL text cannot hold`);
    return escapeLiteral(value);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw usageError(`${where} is an invalid Date`);
    // An instant: compare it with timestamptz columns (a timestamp column converts it with the session TimeZone).
    return `'${value.toISOString()}'::timestamptz`;
  }
  if (value instanceof Uint8Array) return `'\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'::bytea`;
  throw usageError(
    `${where} is ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`}; use a string, number, bigint, boolean, Date, Buffer or null`,
  );
}

/**
 * The `COPY (<query>) TO STDOUT WITH CSV HEADER` statement for a query and its parameters. Throws
 * AppError('USAGE') for a missing or unused parameter, more than one statement, or an unsupported value.
 */
export function copyStatement(query: string, params: readonly unknown[], escapeLiteral: Escape): string {
  // The newline ends a trailing `--` comment before our closing parenthesis.
  return `COPY (${inlineParams(query, params, escapeLiteral)}\n) TO STDOUT WITH CSV HEADER`;
}

/** The query with `$n` replaced by literals and a trailing `;` removed; the same checks as {@link copyStatement}. */
export function inlineParams(query: string, params: readonly unknown[], escapeLiteral: Escape): string {
  const { pieces, refs } = scan(query);
  const used = new Set<number>();
  let body = pieces[0]!;
  refs.forEach((ref, k) => {
    if (ref < 1 || ref > params.length) {
      throw usageError(`copyToCsv: the query uses $${ref} but ${params.length} param(s) were given`);
    }
    used.add(ref);
    body += sqlLiteral(params[ref - 1], escapeLiteral, ref - 1) + pieces[k + 1]!;
  });
  params.forEach((_, k) => {
    if (!used.has(k + 1)) throw usageError(`copyToCsv: params[${k}] is not used by the query (no $${k + 1})`);
  });
  body = body.replace(/[\s;]+$/, '');
  if (body.trim() === '') throw usageError('copyToCsv: the query is empty');
  return body;
}
