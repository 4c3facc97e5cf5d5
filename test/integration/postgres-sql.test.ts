/**
 * copyToCsv's parameters: COPY takes no bind parameters, so they become SQL literals. The scanner is checked on
 * its own; the literals are checked against the real server (what goes in comes back out).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { AppError } from '../../src/errors.js';
import { importOptional } from '../../src/postgres/load.js';
import { copyStatement, inlineParams } from '../../src/postgres/sql.js';
import { pgSkipReason, withPg } from '../helpers/pg.js';

const esc = pg.escapeLiteral;
const usage = (pattern: RegExp) => (err: unknown) => err instanceof AppError && err.code === 'USAGE' && pattern.test(err.message);

describe('inlineParams / copyStatement', () => {
  test('wraps the query in COPY … TO STDOUT WITH CSV HEADER, ending a trailing line comment', () => {
    assert.equal(copyStatement('SELECT 1 -- note', [], esc), 'COPY (SELECT 1 -- note\n) TO STDOUT WITH CSV HEADER');
    assert.equal(copyStatement('  SELECT 1 ;;\n', [], esc), 'COPY (  SELECT 1\n) TO STDOUT WITH CSV HEADER');
  });

  test('replaces $n outside strings, quoted names, dollar quotes and comments only', () => {
    const query = `SELECT $1, '$1', E'\\'$1', "$1", $$ $1 $$, $tag$ $1 $tag$, a$1, -- $1
      /* $1 /* nested $1 */ $1 */ $2 FROM t WHERE x = $1`;
    assert.equal(
      inlineParams(query, ['v', 7], esc),
      `SELECT 'v', '$1', E'\\'$1', "$1", $$ $1 $$, $tag$ $1 $tag$, a$1, -- $1
      /* $1 /* nested $1 */ $1 */ 7 FROM t WHERE x = 'v'`,
    );
  });

  test('formats each JS type as the literal a bind parameter would mean', () => {
    const literal = (value: unknown) => inlineParams('SELECT $1', [value], esc).slice('SELECT '.length);
    assert.equal(literal(null), 'NULL');
    assert.equal(literal(undefined), 'NULL');
    assert.equal(literal(true), 'TRUE');
    assert.equal(literal(42), '42');
    assert.equal(literal(-1.5), '(-1.5)'); // `x - $1` must not become `x --1.5`
    assert.equal(literal(Number.NaN), "'NaN'");
    assert.equal(literal(-12345678901234567890n), '(-12345678901234567890)');
    assert.equal(literal("it's"), "'it''s'");
    assert.equal(literal('back\\slash'), " E'back\\\\slash'");
    assert.equal(literal(new Date('2026-11-01T12:00:00Z')), "'2026-11-01T12:00:00.000Z'::timestamptz");
    assert.equal(literal(Buffer.from([0, 255])), "'\\x00ff'::bytea");
  });

  test('refuses a second statement, missing or unused params, and values it cannot write', () => {
    assert.throws(() => inlineParams('SELECT 1; DROP TABLE t', [], esc), usage(/single statement/));
    assert.throws(() => inlineParams("SELECT 1) TO STDOUT; DROP TABLE t; COPY (SELECT 1", [], esc), usage(/single statement/));
    assert.doesNotThrow(() => inlineParams("SELECT ';' AS a, $$;$$ AS b -- ;\n", [], esc));
    assert.throws(() => inlineParams('SELECT $2', ['a', 'b', 'c'].slice(0, 1), esc), usage(/uses \$2 but 1 param/));
    assert.throws(() => inlineParams('SELECT $1', ['a', 'b'], esc), usage(/params\[1\] is not used/));
    assert.throws(() => inlineParams('SELECT $1', [[1, 2]], esc), usage(/params\[0\] is an array/));
    assert.throws(() => inlineParams('SELECT $1', [{}], esc), usage(/params\[0\] is an object/));
    assert.throws(() => inlineParams('SELECT $1', ['a\0b'], esc), usage(/NUL/));
    assert.throws(() => inlineParams('SELECT $1', [new Date(Number.NaN)], esc), usage(/invalid Date/));
    assert.throws(() => inlineParams("SELECT 'open", [], esc), usage(/unterminated/));
    assert.throws(() => inlineParams('SELECT $x$ open', [], esc), usage(/unterminated \$x\$/));
    assert.throws(() => inlineParams(' ; ', [], esc), usage(/empty/));
  });

  test('a missing optional package is a USAGE error with the install command', async () => {
    await assert.rejects(
      importOptional('analytics-collect-no-such-package', 'copyToCsv'),
      usage(/copyToCsv needs the optional package "analytics-collect-no-such-package".*npm install pg pg-copy-streams/),
    );
  });
});

const skip = await pgSkipReason();

describe('literals against the server', { skip, timeout: 60_000 }, () => {
  test('any string (no NUL) comes back unchanged', async () => {
    await withPg(async (client) => {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), async (s) => {
          const { rows } = await client.query(inlineParams('SELECT $1::text AS v', [s], esc));
          assert.equal(rows[0].v, s);
        }),
        { numRuns: 200 },
      );
    });
  });

  test('numbers, bigints, booleans, null, Dates and Buffers keep their meaning', async () => {
    await withPg(async (client) => {
      const at = new Date('2026-11-01T12:34:56.789Z');
      const { rows } = await client.query(
        inlineParams(
          "SELECT 10 - $1 AS diff, $2::bigint AS big, $3 AS yes, $4::text IS NULL AS nothing, $5 AS at, $6 AS bytes, $7::float8 AS nan",
          [-5, 9007199254740993n, true, null, at, Buffer.from('hi\0'), Number.NaN],
          esc,
        ),
      );
      assert.deepEqual(rows[0], { diff: 15, big: '9007199254740993', yes: true, nothing: true, at, bytes: Buffer.from('hi\0'), nan: Number.NaN });
    });
  });
});
