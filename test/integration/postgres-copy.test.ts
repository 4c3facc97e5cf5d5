/**
 * copyToCsv (`analytics-collect/postgres`): PostgreSQL's own CSV, streamed into a CsvFileSplitter. The reference
 * is psql's `\copy (…) to stdout with csv header` on the same server: the split files, joined without their
 * repeated headers, must be byte-for-byte the same.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CsvFileSplitter } from '../../src/collect/csv-splitter.js';
import { AppError } from '../../src/errors.js';
import { copyToCsv } from '../../src/postgres/index.js';
import { PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const skip = await pgSkipReason();
const run = promisify(execFile);

/** What psql writes for `\copy (query) to stdout with csv header`. */
async function psqlCopy(query: string): Promise<Buffer> {
  const { stdout } = await run('psql', [PG_URL, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${query}) to stdout with csv header`], {
    encoding: 'buffer',
    env: { ...process.env, PGCLIENTENCODING: 'UTF8' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** CSV records (RFC 4180: a quoted field may hold newlines), each with its line ending. */
function records(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === '\n' && !quoted) {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** Checks the contract's split rules and returns the files joined, headers after the first removed. */
async function joinSplit(files: string[], maxFileSize: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let header: string | undefined;
  for (const [i, file] of files.entries()) {
    const bytes = await readFile(file);
    const recs = records(bytes.toString('utf8'));
    header ??= recs[0];
    assert.equal(recs[0], header, `${file} starts with the header`);
    assert.ok(recs.length >= 2, `${file} holds at least one record`);
    if (bytes.length > maxFileSize) assert.equal(recs.length, 2, `${file} (${bytes.length} B > ${maxFileSize}) holds one oversized record only`);
    assert.ok(bytes.toString('utf8').endsWith('\n'), `${file} ends with a newline`);
    parts.push(i === 0 ? bytes : bytes.subarray(Buffer.byteLength(header!)));
  }
  return Buffer.concat(parts);
}

describe('copyToCsv', { skip, timeout: 60_000 }, () => {
  const table = uniqueName('copy');
  const query = `SELECT * FROM ${table} ORDER BY id`;
  let dir: string;
  let n = 0;
  /** A splitter writing into a fresh directory (as ctx.outputDir would be), or at `path` as given. */
  const splitter = (maxFileSize: number, path?: string) => {
    if (path === undefined) {
      const outputDir = join(dir, `out${n++}`);
      mkdirSync(outputDir);
      path = join(outputDir, 'data.csv');
    }
    return new CsvFileSplitter({ path, maxFileSize });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pg-copy-'));
    await withPg((client) =>
      client.query(`
        CREATE TABLE ${table} (id int PRIMARY KEY, name text, note text, created timestamptz, amount numeric, flag boolean, doc jsonb, raw bytea);
        INSERT INTO ${table} VALUES
          (1, 'plain', NULL, '2026-11-01T00:00:00Z', 1.50, true, '{"a": [1, "x"]}', '\\x00ff'),
          (2, 'comma, "quotes"', E'line1\\nline2', '2026-11-01T12:34:56.789+02', -0.001, false, '"str"', NULL),
          (3, '', E'crlf\\r\\nend', NULL, NULL, NULL, NULL, ''),
          (4, 'ünïcødé 日本語 🎉', E'back\\\\slash', '1999-12-31T23:59:59Z', 1e20, true, '{"ü": "🎉"}', NULL),
          (5, ' spaces ', E'\\n', NULL, 0, false, 'null', NULL),
          (6, E'tab\\there', '\\.', NULL, 3, true, '[]', NULL),
          (7, '"', '""', NULL, 4, false, '{}', NULL);
        INSERT INTO ${table} (id, name, note)
          SELECT g, 'row ' || g, repeat(E'é,"\\n', g % 17) FROM generate_series(100, 400) g;
        INSERT INTO ${table} (id, name, note) VALUES (1000, 'big', repeat('y', 2000));`),
    );
  });
  after(async () => {
    await withPg((client) => client.query(`DROP TABLE IF EXISTS ${table}`));
    await rm(dir, { recursive: true, force: true });
  });

  test('one file, byte-for-byte what psql \\copy writes', async () => {
    const expected = await psqlCopy(query);
    const files = await copyToCsv({ connectionString: PG_URL, query, out: splitter(1 << 30) });
    assert.equal(files.length, 1);
    assert.ok((await readFile(files[0]!)).equals(expected));
  });

  test('split at a small maxFileSize: between records, each file within the limit unless one record is larger', async () => {
    const expected = await psqlCopy(query);
    const maxFileSize = 300;
    const files = await copyToCsv({ connectionString: PG_URL, query, out: splitter(maxFileSize) });
    assert.ok(files.length > 10, `${files.length} files`);
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
    assert.ok(sizes.some((s) => s > maxFileSize), 'the 2000-byte record gets a file of its own');
    assert.ok((await joinSplit(files, maxFileSize)).equals(expected));
  });

  test('params become literals: same rows as psql with the values written in', async () => {
    const expected = await psqlCopy(
      `SELECT id, name FROM ${table} WHERE id >= 2 AND name <> 'it''s' AND (created IS NULL OR created < '2026-11-01T10:00:00.000Z'::timestamptz) ORDER BY id`,
    );
    const files = await copyToCsv({
      connectionString: PG_URL,
      query: `SELECT id, name FROM ${table} WHERE id >= $1 AND name <> $2 AND (created IS NULL OR created < $3) ORDER BY id;`,
      params: [2, "it's", new Date('2026-11-01T10:00:00Z')],
      out: splitter(1 << 30),
    });
    assert.ok((await joinSplit(files, 1 << 30)).equals(expected));
  });

  test('a borrowed client stays connected and usable; no rows gives no files', async () => {
    await withPg(async (client) => {
      const files = await copyToCsv({ client, query: `SELECT * FROM ${table} WHERE id < 0`, out: splitter(1000) });
      assert.deepEqual(files, []);
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    });
  });

  test('a failing query rejects with the server error; the borrowed client is still usable', async () => {
    await withPg(async (client) => {
      await assert.rejects(copyToCsv({ client, query: 'SELECT * FROM no_such_table_here', out: splitter(1000) }), { code: '42P01' });
      assert.deepEqual((await client.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
    });
  });

  test('abort (ctx.signal) cancels the query on the server; the borrowed client is usable afterwards', { timeout: 20_000 }, async () => {
    await withPg(async (client) => {
      const controller = new AbortController();
      const copying = copyToCsv({
        client,
        query: 'SELECT g, pg_sleep(CASE WHEN g = 2 THEN 60 ELSE 0 END) FROM generate_series(1, 3) g',
        out: splitter(1000),
        signal: controller.signal,
      });
      const backend = (client as unknown as { processID: number }).processID;
      // Wait until the server runs the COPY (queried, not slept), then stop it.
      await withPg(async (watcher) => {
        for (;;) {
          const { rows } = await watcher.query("SELECT state, query FROM pg_stat_activity WHERE pid = $1", [backend]);
          if (rows[0]?.state === 'active' && /^COPY/.test(rows[0].query)) break;
        }
      });
      controller.abort(new Error('stopped by test'));
      await assert.rejects(copying, /stopped by test/);
      assert.deepEqual((await client.query('SELECT 3 AS three')).rows, [{ three: 3 }]);
    });
  });

  test('a failing sink (a file that cannot be written) cancels the query; its error is thrown; the client is usable', { timeout: 20_000 }, async () => {
    await withPg(async (client) => {
      await assert.rejects(
        copyToCsv({
          client,
          // two 2 MB rows reach the splitter, whose first file cannot be created; row 3 would keep the server busy for a minute
          query: "SELECT g, CASE WHEN g < 3 THEN repeat('x', 2000000) END AS pad, pg_sleep(CASE WHEN g = 3 THEN 60 ELSE 0 END) FROM generate_series(1, 3) g",
          out: splitter(1 << 30, join(dir, 'no-such-dir', 'sub', 'data.csv')),
        }),
        /CsvFileSplitter: cannot write .*no-such-dir.*ENOENT/,
      );
      assert.deepEqual((await client.query('SELECT 4 AS four')).rows, [{ four: 4 }]);
    });
  });

  test('an already aborted signal runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(copyToCsv({ connectionString: PG_URL, query: 'SELECT 1', out: splitter(1000), signal: controller.signal }), { name: 'AbortError' });
  });

  test('usage errors: both or neither of client/connectionString, two statements', async () => {
    const isUsage = (err: unknown) => err instanceof AppError && err.code === 'USAGE';
    await assert.rejects(copyToCsv({ query: 'SELECT 1', out: splitter(1000) }), isUsage);
    await withPg(async (client) => {
      await assert.rejects(copyToCsv({ client, connectionString: PG_URL, query: 'SELECT 1', out: splitter(1000) }), isUsage);
      await assert.rejects(copyToCsv({ client, query: `SELECT 1; DROP TABLE ${table}`, out: splitter(1000) }), isUsage);
      assert.equal((await client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 309);
    });
  });

  test('an unreachable server is a USAGE error without the password', async () => {
    await assert.rejects(
      copyToCsv({ connectionString: 'postgresql://u:topsecretpw@127.0.0.1:1/db', query: 'SELECT 1', out: splitter(1000) }),
      (err: unknown) => err instanceof AppError && err.code === 'USAGE' && /127\.0\.0\.1:1\/db/.test(err.message) && !/topsecretpw/.test(err.message),
    );
  });
});
