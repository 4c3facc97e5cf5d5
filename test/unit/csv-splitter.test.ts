import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { CsvFileSplitter, splitFilePath } from '../../src/collect/csv-splitter.js';

const root = mkdtempSync(join(tmpdir(), 'csv-splitter-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (): string => mkdtempSync(join(root, `${dirCount++}-`));

/** A small independent RFC 4180 reader (LF or CRLF record ends), to check what the splitter wrote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let inQuotes = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    started = true;
    if (inQuotes) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      started = false;
    } else field += c;
  }
  assert.equal(inQuotes, false, 'a quoted field is not closed');
  if (started) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** Formats a record the way a database would: quotes only where needed. */
function formatRecord(fields: string[], quoteAll = false): string {
  return fields.map((f) => (quoteAll || /[",\r\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(',');
}

const field = fc.string({ unit: fc.constantFrom('a', 'Z', '1', ' ', ',', '"', '""', '\n', '\r', '\r\n', 'é', '😀'), maxLength: 8 });
const table = fc
  .integer({ min: 1, max: 4 })
  .chain((n) =>
    fc.record({
      header: fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '_', ' ', ',', '"'), minLength: 1, maxLength: 5 }), { minLength: n, maxLength: n }),
      rows: fc.array(fc.array(field, { minLength: n, maxLength: n }), { maxLength: 25 }),
    }),
  );

/** Checks every file: header on top, whole records only, size within the limit unless it holds one record. */
function checkFiles(files: string[], header: Buffer, maxFileSize: number): Buffer[] {
  const bodies: Buffer[] = [];
  for (const file of files) {
    const bytes = readFileSync(file);
    assert.ok(bytes.subarray(0, header.length).equals(header), `${file} starts with the header`);
    const records = parseCsv(bytes.toString('utf8'));
    assert.ok(records.length >= 2, `${file} holds at least one record`);
    assert.ok(bytes.length <= maxFileSize || records.length === 2, `${file} is ${bytes.length} bytes > ${maxFileSize} with ${records.length - 1} records`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    bodies.push(bytes.subarray(header.length));
  }
  return bodies;
}

describe('CsvFileSplitter rows', () => {
  it('splits random rows into files that read back as the input (property)', async () => {
    await fc.assert(
      fc.asyncProperty(table, fc.integer({ min: 1, max: 200 }), async ({ header, rows }, maxFileSize) => {
        const dir = freshDir();
        const out = new CsvFileSplitter({ path: join(dir, 'jobs.csv'), maxFileSize, columns: header });
        for (const row of rows) await out.write(row);
        const files = await out.close();
        if (rows.length === 0) assert.deepEqual(files, []);
        files.forEach((file, i) => assert.equal(file, splitFilePath(join(dir, 'jobs.csv'), i)));
        assert.deepEqual(readdirSync(dir).sort(), files.map((f) => f.slice(dir.length + 1)).sort());
        const headerBytes = Buffer.from(`${formatRecord(header)}\n`);
        const bodies = checkFiles(files, headerBytes, maxFileSize);
        assert.deepEqual(parseCsv(Buffer.concat(bodies).toString('utf8')), rows);
      }),
      { numRuns: 150 },
    );
  });

  it('writes exactly what csv-stringify writes with our options, for random rows of any values (property)', async () => {
    // The options the contract names: RFC 4180 quoting, LF, booleans as true/false, dates as ISO 8601.
    const options = (columns: string[]) => ({
      header: false,
      eof: true,
      record_delimiter: '\n',
      quote_record_delimiter: true,
      columns: columns.map((name) => ({ key: [name], header: name })),
      cast: { boolean: (v: boolean) => (v ? 'true' : 'false'), date: (v: Date) => v.toISOString() },
    });
    const text = fc.string({ unit: fc.constantFrom('a', '1', ' ', ',', '"', '\n', '\r', '-', '=', '\t', 'é', '😀', '\u2028'), maxLength: 6 });
    const value = fc.oneof(
      text,
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.integer(),
      // Safe integers past int32 (the writer switches from double to int32 arithmetic), and two-decimal amounts.
      fc.maxSafeInteger(),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((cents) => cents / 100),
      fc.double(),
      fc.bigInt(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.date({ noInvalidDate: false }),
      fc.date({ min: new Date('-000002-01-01T00:00:00Z'), max: new Date('+010001-01-01T00:00:00Z') }),
      // Around midnight and the ends of 4-digit years, where toISOString() changes its form.
      fc.constantFrom('2026-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '+010000-01-01T00:00:00Z').chain((at) =>
        fc.integer({ min: -2, max: 2 }).map((ms) => new Date(Date.parse(at) + ms)),
      ),
      fc.jsonValue({ maxDepth: 1 }),
      fc.constant(Symbol('s')),
    );
    const names = fc.uniqueArray(fc.constantFrom('id', 'a.b', 'x y', 'q"', 'c,d', 'constructor', 'e'), { minLength: 1, maxLength: 4 });
    const rowsOf = (columns: string[]) =>
      fc.array(
        fc.oneof(
          fc.array(value, { minLength: columns.length, maxLength: columns.length }),
          fc.dictionary(fc.constantFrom(...columns), value),
        ),
        { maxLength: 12 },
      );
    await fc.assert(
      fc.asyncProperty(names.chain((columns) => fc.tuple(fc.constant(columns), rowsOf(columns))), async ([columns, rows]) => {
        const dir = freshDir();
        const out = new CsvFileSplitter({ path: join(dir, 'eq.csv'), maxFileSize: 1024 * 1024, columns });
        let expected = stringify([columns], options(columns));
        for (const row of rows) {
          let record: string;
          try {
            record = stringify([row], options(columns));
          } catch (err) {
            // csv-stringify refuses the row: so does the splitter, with csv-stringify's reason.
            await assert.rejects(out.write(row), (e: Error) => e.message.endsWith(`cannot be written as CSV: ${(err as Error).message}`));
            await assert.rejects(out.close());
            assert.deepEqual(readdirSync(dir), []);
            return;
          }
          await out.write(row);
          expected += record;
        }
        const files = await out.close();
        assert.equal(files.length > 0 ? readFileSync(files[0]!, 'utf8') : stringify([columns], options(columns)), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('writes numbers, dates and texts byte for byte as JSON.stringify and toISOString() do, in long runs (property)', async () => {
    // Many rows per run, so records are encoded straight into the buffers and cross chunk boundaries.
    const amount = fc.oneof(
      fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }).map((k) => k / 100), // two decimals: the fast path
      fc.integer({ min: -100_000, max: 100_000 }).map((k) => k / 100),
      fc.double({ noNaN: false }),
      fc.constantFrom(0.1 + 0.2, 1.005, 2.675, -0, 1e21, 5e-324, 0.015, 1e15 + 0.5, 2 ** 53, -(2 ** 53)),
    );
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '-', ':', ',', '"', '\n', 'é'), maxLength: 300 });
    const date = fc.date({ min: new Date('-000001-01-01T00:00:00Z'), max: new Date('+010000-12-31T00:00:00Z'), noInvalidDate: true });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer(), amount, date, text), { minLength: 200, maxLength: 3000 }), async (rows) => {
        const dir = freshDir();
        const out = new CsvFileSplitter({ path: join(dir, 'n.csv'), maxFileSize: 1 << 30, columns: ['i', 'amount', 'at', 'text'] });
        for (const row of rows) await out.write(row);
        const [file] = await out.close();
        const expected = rows.map((row) => stringify([row], { cast: { date: (d: Date) => d.toISOString() } })).join('');
        assert.equal(readFileSync(file!, 'utf8'), `i,amount,at,text\n${expected}`);
      }),
      { numRuns: 40 },
    );
  });

  it('keeps files under the limit and fills them', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'hosts.csv'), maxFileSize: 100, columns: ['id', 'name'] });
    for (let i = 0; i < 50; i++) await out.write([i, `host-${i}`]);
    const files = await out.close();
    const sizes = files.map((f) => statSync(f).size);
    assert.ok(sizes.every((s) => s <= 100));
    // each file but the last is full: the next record (at most 12 bytes) would not have fitted
    assert.ok(sizes.slice(0, -1).every((s) => s > 100 - 12), sizes.join(','));
    assert.equal(readFileSync(files[1]!, 'utf8').split('\n')[0], 'id,name');
  });

  it('formats values: objects keyed by columns, dates, booleans, null, nested objects', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'v.csv'), maxFileSize: 10_000, columns: ['id', 'when', 'ok', 'none', 'obj', 'a.b'] });
    await out.write({ id: 1, when: new Date('2026-11-28T01:33:06Z'), ok: true, none: null, obj: { x: 'y,z' }, 'a.b': 'dot', extra: 'ignored' });
    await out.write([2n, undefined, false, '', 'say "hi"', '\r']);
    const [file] = await out.close();
    assert.equal(
      readFileSync(file!, 'utf8'),
      'id,when,ok,none,obj,a.b\n1,2026-11-28T01:33:06.000Z,true,,"{""x"":""y,z""}",dot\n2,,false,,"say ""hi""","\r"\n',
    );
  });

  it('takes the columns from the first object row when none are given', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'o.csv'), maxFileSize: 1000 });
    await out.write({ b: 1, a: 2 });
    await out.write({ a: 3, b: 4 });
    const [file] = await out.close();
    assert.equal(readFileSync(file!, 'utf8'), 'b,a\n1,2\n4,3\n');
  });

  it('puts a record larger than the limit alone in its own file', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'big.csv'), maxFileSize: 30, columns: ['v'] });
    await out.write(['small']);
    await out.write(['x'.repeat(100)]);
    await out.write(['tiny']);
    const files = await out.close();
    assert.deepEqual(
      files.map((f) => readFileSync(f, 'utf8')),
      ['v\nsmall\n', `v\n${'x'.repeat(100)}\n`, 'v\ntiny\n'],
    );
  });

  it('writes no file without records, and never a header-only file', async () => {
    const dir = freshDir();
    assert.deepEqual(await new CsvFileSplitter({ path: join(dir, 'e.csv'), maxFileSize: 10, columns: ['a'] }).close(), []);
    // Records that exactly fill a file: the next file would only hold the header, so it is not created.
    const out = new CsvFileSplitter({ path: join(dir, 'f.csv'), maxFileSize: 6, columns: ['a'] });
    await out.write(['1']);
    await out.write(['2']);
    assert.deepEqual(await out.close(), [join(dir, 'f.csv')]);
    assert.deepEqual(readdirSync(dir), ['f.csv']);
  });

  it('rejects badly shaped rows without failing the splitter', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'r.csv'), maxFileSize: 100, columns: ['a', 'b'] });
    await assert.rejects(out.write([1]), /row has 1 values but there are 2 columns/);
    await assert.rejects(out.write('a,b' as unknown as object), /must be an array or an object/);
    await out.write([1, 2]);
    assert.deepEqual((await out.close()).map((f) => readFileSync(f, 'utf8')), ['a,b\n1,2\n']);
    const noColumns = new CsvFileSplitter({ path: join(dir, 's.csv'), maxFileSize: 100 });
    await assert.rejects(noColumns.write([1, 2]), /pass `columns` to write array rows/);
  });

  it('fails on a value csv-stringify cannot format and removes what it wrote', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'bad.csv'), maxFileSize: 512 * 1024, columns: ['a'] });
    // Enough rows (2 MB) to flush files to disk before the bad one.
    let error: unknown;
    try {
      for (let i = 0; i < 20_000; i++) await out.write([`row ${i} ${'-'.repeat(90)}`]);
      await out.write([{ n: 1n }]);
      await out.close();
    } catch (err) {
      error = err;
    }
    assert.match(String(error), /a row cannot be written as CSV: .*BigInt/);
    await assert.rejects(out.close(), /BigInt/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('fails on a file system error, removes its files and leaves other files alone', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'x_2.csv'), 'not mine');
    const out = new CsvFileSplitter({ path: join(dir, 'x.csv'), maxFileSize: 10, columns: ['a'] });
    const failed = (async () => {
      for (let i = 0; i < 100; i++) await out.write([`r${i}`]);
      return out.close();
    })();
    await assert.rejects(failed, (err: Error) => {
      assert.match(err.message, /x_2\.csv already exists and is never overwritten/);
      assert.equal((err as NodeJS.ErrnoException).code, 'EEXIST');
      return true;
    });
    await assert.rejects(out.close(), /already exists/);
    assert.deepEqual(readdirSync(dir), ['x_2.csv']);
    assert.equal(readFileSync(join(dir, 'x_2.csv'), 'utf8'), 'not mine');
  });

  it('reuses its buffers without mixing rows up: 20 MiB of rows read back in order across files', async () => {
    const dir = freshDir();
    const maxFileSize = 3 * 1024 * 1024 + 17;
    const out = new CsvFileSplitter({ path: join(dir, 'many.csv'), maxFileSize, columns: ['id', 'text', 'when'] });
    const record = (i: number): [number, string, Date] => [i, `row "${i}", ${'z'.repeat(i % 150)}`, new Date(Date.UTC(2026, 0, 1) + i * 997)];
    const rows = 160_000;
    // Not waiting for every write() lets rows arrive while earlier chunks are still being written.
    const writes: Promise<void>[] = [];
    for (let i = 0; i < rows; i++) {
      writes.push(out.write(record(i)));
      if (i % 5000 === 0) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const files = await out.close();
    assert.ok(files.length >= 7, `${files.length} files`);
    const header = Buffer.from('id,text,when\n');
    const body = Buffer.concat(checkFiles(files, header, maxFileSize)).toString('utf8');
    let expected = '';
    for (let i = 0; i < rows; i++) {
      const [id, text, when] = record(i);
      expected += `${id},"${text.replaceAll('"', '""')}",${when.toISOString()}\n`;
    }
    assert.ok(body === expected, 'the files hold every row once, in order');
  });

  it('write() waits for the disk: what is held in memory stays bounded (counting, not timing)', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'bp.csv'), maxFileSize: 8 * 1024 * 1024, columns: ['id', 'text'] });
    const text = 'y'.repeat(90);
    const rowBytes = (i: number): number => `${i},${text}\n`.length;
    let formatted = 0;
    let maxHeld = 0;
    const rows = 200_000; // about 19 MiB
    for (let i = 0; i < rows; i++) {
      await out.write([i, text]);
      formatted += rowBytes(i);
      if (i % 5000 === 0) {
        const onDisk = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
        const headers = readdirSync(dir).length * 'id,text\n'.length;
        maxHeld = Math.max(maxHeld, formatted - (onDisk - headers));
      }
    }
    const files = await out.close();
    assert.equal(files.length, 3);
    assert.ok(maxHeld < 3 * 1024 * 1024, `held ${maxHeld} bytes`);
  });

  it('lets the event loop turn while a collector writes rows as fast as it can (deflate jobs and the disk need it)', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'turns.csv'), maxFileSize: 64 * 1024 * 1024, columns: ['id', 'text'] });
    const text = 'z'.repeat(100);
    let formatted = 0;
    let turns = 0;
    let firstTurnAt = -1;
    const turn = (): void => {
      if (firstTurnAt === -1) firstTurnAt = formatted;
      turns++;
      if (formatted < 4 * 1024 * 1024) setImmediate(turn);
    };
    setImmediate(turn);
    for (let i = 0; formatted < 4 * 1024 * 1024; i++) {
      await out.write([i, text]);
      formatted += `${i},${text}\n`.length;
    }
    await out.close();
    // Without the turn at each write-out, a loop whose awaits all find settled promises runs on microtasks only.
    assert.ok(firstTurnAt !== -1 && firstTurnAt <= 512 * 1024, `first turn after ${firstTurnAt} bytes of rows`);
    assert.ok(turns >= 8, `${turns} turns in 4 MiB of rows`);
  });
});

/** Streams `bytes` into a splitter's writable() in chunks cut at `cuts`. */
async function splitText(bytes: Buffer, cuts: number[], maxFileSize: number, dir = freshDir()): Promise<string[]> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    if (p > last) chunks.push(bytes.subarray(last, p));
    last = Math.max(last, p);
  }
  const out = new CsvFileSplitter({ path: join(dir, 'copy.csv'), maxFileSize });
  await pipeline(Readable.from(chunks), out.writable());
  return out.close();
}

describe('CsvFileSplitter writable()', () => {
  it('splits CSV text between records, whatever the chunk boundaries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 1, max: 200 }),
        async ({ header, rows }, eol, quoteAll, finalEol, cuts, maxFileSize) => {
          const headerText = formatRecord(header, quoteAll) + eol;
          const body = rows.map((r) => formatRecord(r, quoteAll) + eol).join('');
          // An empty last record without its line end would be no record at all: keep its line end then.
          const lastEmpty = rows.length > 0 && formatRecord(rows[rows.length - 1]!, quoteAll) === '';
          const input = Buffer.from(headerText + (finalEol || body === '' || lastEmpty ? body : body.slice(0, -eol.length)));
          const files = await splitText(input, cuts, maxFileSize);
          if (rows.length === 0) assert.deepEqual(files, []);
          const bodies = checkFiles(files, Buffer.from(headerText), maxFileSize);
          assert.equal(Buffer.concat(bodies).toString('utf8'), body);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('handles every chunk boundary: inside quoted fields, inside "" escapes, between CR and LF', async () => {
    const text = 'id,"na""me"\r\n1,"a ""quoted""\r\nline, here"\r\n2,plain\r\n3,"x"""\r\n';
    const expected = ['id,"na""me"\r\n1,"a ""quoted""\r\nline, here"\r\n', 'id,"na""me"\r\n2,plain\r\n3,"x"""\r\n'];
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const files = await splitText(bytes, [cut], 40);
      assert.deepEqual(files.map((f) => readFileSync(f, 'utf8')), expected, `cut at ${cut}`);
    }
    const oneByteChunks = await splitText(bytes, [...bytes.keys()], 40);
    assert.deepEqual(oneByteChunks.map((f) => readFileSync(f, 'utf8')), expected);
  });

  it('ends a last record without a line end, matching the header line end', async () => {
    const lf = await splitText(Buffer.from('a,b\n1,2\n3,"4\n5"'), [], 1000);
    assert.equal(readFileSync(lf[0]!, 'utf8'), 'a,b\n1,2\n3,"4\n5"\n');
    const crlf = await splitText(Buffer.from('a,b\r\n1,2'), [], 1000);
    assert.equal(readFileSync(crlf[0]!, 'utf8'), 'a,b\r\n1,2\r\n');
  });

  it('writes nothing for empty input or a header alone', async () => {
    assert.deepEqual(await splitText(Buffer.alloc(0), [], 100), []);
    assert.deepEqual(await splitText(Buffer.from('a,b\n'), [], 100), []);
    assert.deepEqual(await splitText(Buffer.from('a,b'), [], 100), []);
  });

  it('puts an oversized record alone in its own file, streaming it through', async () => {
    const big = `"${'q,\n'.repeat(5000)}"`;
    const files = await splitText(Buffer.from(`h\n1\n${big}\n2\n`), [7, 100, 5000], 20);
    assert.deepEqual(files.map((f) => readFileSync(f, 'utf8')), ['h\n1\n', `h\n${big}\n`, 'h\n2\n']);
  });

  it('refuses to mix write() and writable(), or to be used after close()', async () => {
    const dir = freshDir();
    const a = new CsvFileSplitter({ path: join(dir, 'a.csv'), maxFileSize: 100, columns: ['x'] });
    await a.write(['1']);
    assert.throws(() => a.writable(), /use write\(\) or writable\(\), not both/);
    const b = new CsvFileSplitter({ path: join(dir, 'b.csv'), maxFileSize: 100, columns: ['x'] });
    b.writable();
    assert.throws(() => b.writable(), /writable\(\) was already called/);
    await assert.rejects(b.write(['1']), /writable\(\) was already called/);
    await a.close();
    await assert.rejects(a.write(['2']), /is closed/);
    assert.throws(() => new CsvFileSplitter({ path: join(dir, 'c.csv'), maxFileSize: 0 }), /maxFileSize/);
  });

  it('close() ends a writable that was not ended', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'w.csv'), maxFileSize: 100 });
    out.writable().write('a\n1');
    const files = await out.close();
    assert.equal(readFileSync(files[0]!, 'utf8'), 'a\n1\n');
  });

  it('removes its files when the source fails', async () => {
    const dir = freshDir();
    const out = new CsvFileSplitter({ path: join(dir, 'f.csv'), maxFileSize: 512 * 1024 });
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('h\n1\n2\n3\n4\n5\n6\n7\n8\n');
      yield Buffer.alloc(2 * 1024 * 1024, 'z\n'); // forces a flush to disk
      throw new Error('connection lost');
    }
    await assert.rejects(pipeline(source(), out.writable()), /connection lost/);
    await assert.rejects(out.close(), /connection lost/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('keeps memory bounded on a large stream: the source is read only as fast as the disk takes it', async () => {
    const dir = freshDir();
    const total = 48 * 1024 * 1024;
    const line = Buffer.from(`${'1234567,"a ""b"" c",'.repeat(4)}x\n`);
    const chunk = Buffer.concat(Array.from({ length: Math.ceil(65536 / line.length) }, () => line));
    let produced = 0;
    let maxAhead = 0;
    const onDisk = (): number => readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    const source = new Readable({
      highWaterMark: 65536,
      read() {
        if (produced % (1024 * 1024) < chunk.length) maxAhead = Math.max(maxAhead, produced - onDisk());
        if (produced >= total) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const out = new CsvFileSplitter({ path: join(dir, 'big.csv'), maxFileSize: 16 * 1024 * 1024 });
    await pipeline(source, out.writable());
    const files = await out.close();
    assert.equal(files.length, 4);
    assert.ok(maxAhead < 4 * 1024 * 1024, `source ran ${maxAhead} bytes ahead of the disk`);
  });
});
