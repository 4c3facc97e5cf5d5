/**
 * Redaction invariants (contract §10), property-based. Random CSV — quotes, commas, CR and LF inside fields, empty
 * fields, unicode, CRLF or LF, a byte order mark, optional quoting, no line end after the last record — read in
 * random chunk sizes, and random JSON; every output:
 *
 * - parses (csv-parse), every file starts with the header and none exceeds maxDataSize unless it holds one record;
 * - has the same records in the same order; untouched columns equal field by field;
 * - has no dropped column or property left; hashed values equal an independent HMAC (node:crypto);
 * - has masked values with no match left, and the mask count is the number of values changed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { redactCsvFile } from '../../src/redact/csv.js';
import { CachedHash, Hmac32 } from '../../src/redact/hmac.js';
import { redactJson } from '../../src/redact/json.js';
import { rulesFor } from '../../src/redact/rules.js';
import { TEST_KEY, hmac32, redactConfig, type RawRules } from '../helpers/redact.js';

const CHARS = ['a', 'b', 'Z', '1', '42', ',', '"', '""', '\r', '\n', '\r\n', ' ', 'é', '日本', '🙂', '\t', "'"];
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 8 }).map((parts) => parts.join(''));
const DIGITS = /\d+/gu;

type Role = 'keep' | 'drop' | 'hash' | 'mask';

interface CsvCase {
  names: string[];
  roles: Role[];
  globalMask: boolean;
  rows: string[][];
  crlf: boolean;
  bom: boolean;
  lastLineEnd: boolean;
  quoteAll: boolean[];
  readChunk: number;
  /** Blocking reads, as on the redaction thread. */
  blocking: boolean;
  maxFileSize: number;
}

/**
 * Values for the one-pass reader of csv-bytes.ts, which reads four bytes at a time: runs longer than a word,
 * every special byte at every offset in a word, bytes below the comma that are not special, multi-byte UTF-8, and
 * dots for a mask that requires two of them.
 */
const WORD_CHARS = ['a', '1', '22', '.', '..', ' ', '\t', '#', '-', 'é', '🙂', 'xxxx', 'yyyyyyy', ',', '"', '\r', '\n', '\r\n'];
const wordText = fc.array(fc.constantFrom(...WORD_CHARS), { maxLength: 12 }).map((parts) => parts.join(''));
/** A mask whose every match holds two dots (the reader counts them as it copies). */
const DOTTED = /(?:\d+\.){2}\d+/gu;

const csvCaseOf = (text: fc.Arbitrary<string>, maxRows: number): fc.Arbitrary<CsvCase> => fc
  .uniqueArray(fc.oneof(fc.constantFrom('id', 'user', 'email', 'a,b', 'q"n', 'name'), text.filter((t) => t !== '')), { minLength: 1, maxLength: 5 })
  .chain((names) =>
    fc.record({
      names: fc.constant(names),
      roles: fc.array(fc.constantFrom<Role>('keep', 'drop', 'hash', 'mask'), { minLength: names.length, maxLength: names.length }),
      globalMask: fc.boolean(),
      rows: fc.array(fc.array(text, { minLength: names.length, maxLength: names.length }), { maxLength: maxRows }),
      crlf: fc.boolean(),
      bom: fc.boolean(),
      lastLineEnd: fc.boolean(),
      quoteAll: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
      readChunk: fc.integer({ min: 1, max: 64 }),
      blocking: fc.boolean(),
      maxFileSize: fc.integer({ min: 40, max: 400 }),
    }),
  );
const csvCase = csvCaseOf(text, 25);

/** RFC 4180 text of the case: fields quoted when they must be, or at random when they need not. */
function csvText(c: CsvCase): string {
  const eol = c.crlf ? '\r\n' : '\n';
  let k = 0;
  const field = (v: string, width: number): string =>
    /[",\r\n]/.test(v) || c.quoteAll[k++ % 64] || (width === 1 && v === '') ? `"${v.replaceAll('"', '""')}"` : v;
  const lines = [c.names, ...c.rows].map((r) => r.map((v) => field(v, r.length)).join(','));
  return (c.bom ? '\ufeff' : '') + lines.join(eol) + (c.lastLineEnd ? eol : '');
}

function rawRules(c: CsvCase, mask: RegExp): Record<string, RawRules> {
  const named = (role: Role): string[] => c.names.filter((_, i) => c.roles[i] === role);
  const own: RawRules = { drop: named('drop'), hash: named('hash'), mask: [] };
  if (c.globalMask) return { events: own, '*': { mask: [{ pattern: mask.source, replace: 'N' }] } };
  own.mask = [{ pattern: mask.source, replace: 'N', columns: named('mask') }];
  return { events: own };
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'redact-prop-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('CSV redaction, property-based', () => {
  let n = 0;
  const check = (cases: fc.Arbitrary<CsvCase>, mask: RegExp, numRuns: number): Promise<void> =>
    fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const dir = await mkdtemp(join(root, `case-${n++}-`));
        const source = join(dir, 'in.csv');
        await writeFile(source, csvText(c));
        const rules = rulesFor(redactConfig(rawRules(c, mask)), 'events')!;
        const result = await redactCsvFile({ source, target: join(dir, 'out.csv'), maxFileSize: c.maxFileSize, rules, hmac: new Hmac32(TEST_KEY), key: 'events', where: 'in.csv', readChunk: c.readChunk, blocking: c.blocking });

        const kept = c.names.map((name, i) => ({ name, i, role: c.roles[i]! === 'mask' || (c.globalMask && c.roles[i] === 'keep') ? 'mask' : c.roles[i]! })).filter((col) => col.role !== 'drop');
        let masked = 0;
        const expected = c.rows.map((row) =>
          kept.map(({ i, role }) => {
            const v = row[i]!;
            if (role === 'hash') return v === '' ? '' : hmac32(v);
            if (role !== 'mask') return v;
            const out = v.replace(mask, 'N');
            if (out !== v) masked++;
            return out;
          }),
        );
        if (kept.length === 0) {
          assert.deepEqual(result.files, []);
        } else {
          const records: string[][] = [];
          for (const file of result.files) {
            const body = await readFile(file, 'utf8');
            const parsed: string[][] = parse(body);
            assert.deepEqual(parsed[0], kept.map((col) => col.name), 'every file starts with the header');
            assert.ok(Buffer.byteLength(body) <= c.maxFileSize || parsed.length <= 2, 'no file exceeds maxFileSize unless it holds one record');
            records.push(...parsed.slice(1));
          }
          assert.equal(result.files.length > 0, true);
          assert.deepEqual(records, expected);
          for (const record of records) kept.forEach((col, j) => col.role === 'mask' && assert.doesNotMatch(record[j]!, mask));
        }
        assert.equal(result.masked, masked);
        assert.deepEqual(result.dropped, c.names.filter((_, i) => c.roles[i] === 'drop'));
        assert.deepEqual(result.hashed, c.names.filter((_, i) => c.roles[i] === 'hash'));
        await rm(dir, { recursive: true, force: true });
      }),
      { numRuns },
    );

  it('keeps every record and untouched field; drops, hashes and masks exactly', () => check(csvCase, DIGITS, 300));

  it('the same with values that stress the one-pass reader, and a mask that needs two dots', () => check(csvCaseOf(wordText, 40), DOTTED, 300));
});

type Json = null | boolean | number | string | Json[] | { entries: [string, Json][] };

const NAMES = ['user', 'email', 'note', 'a', '__proto__', 'constructor', 'toString'];
const jsonTree: fc.Arbitrary<Json> = fc.letrec<{ node: Json }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    text,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.constantFrom(...NAMES), tie('node')), { maxLength: 4 }).map((entries) => ({ entries })),
  ),
})).node;

function render(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(render).join(',')}]`;
  return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${render(x)}`).join(',')}}`;
}

describe('JSON redaction, property-based', () => {
  it('matches an independent model: drop at any depth, hash of the string or its JSON text, mask on strings', () => {
    const rules = rulesFor(redactConfig({ '*': { mask: [{ pattern: '\\d+', replace: 'N' }] }, events: { drop: ['email', 'constructor'], hash: ['user', '__proto__'] } }), 'events')!;
    fc.assert(
      fc.property(jsonTree, (tree) => {
        const input = JSON.parse(render(tree)) as unknown;
        let masked = 0;
        const model = (v: unknown): unknown => {
          if (typeof v === 'string') {
            const out = v.replace(DIGITS, 'N');
            if (out !== v) masked++;
            return out;
          }
          if (Array.isArray(v)) return v.map(model);
          if (v === null || typeof v !== 'object') return v;
          const out: [string, unknown][] = [];
          for (const k of Object.keys(v)) {
            const x = (v as Record<string, unknown>)[k];
            if (k === 'email' || k === 'constructor') continue;
            if (k === 'user' || k === '__proto__') out.push([k, x === null || x === '' ? x : hmac32(typeof x === 'string' ? x : JSON.stringify(x))]);
            else out.push([k, model(x)]);
          }
          return { entries: out };
        };
        const text = (v: unknown): string =>
          v !== null && typeof v === 'object' && !Array.isArray(v) && 'entries' in v
            ? `{${(v as { entries: [string, unknown][] }).entries.map(([k, x]) => `${JSON.stringify(k)}:${text(x)}`).join(',')}}`
            : Array.isArray(v) ? `[${v.map(text).join(',')}]` : JSON.stringify(v);
        const expected = text(model(input));
        const { value, summary } = redactJson(input, rules, new CachedHash(new Hmac32(TEST_KEY)));
        const actual = JSON.stringify(value);
        assert.equal(actual, expected);
        assert.equal(summary.masked, masked);
        assert.doesNotMatch(actual, /"(email|constructor)":/);
      }),
      { numRuns: 500 },
    );
  });
});
