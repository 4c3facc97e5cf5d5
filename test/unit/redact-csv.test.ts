import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { redactCollection, RedactionError } from '../../src/redact/index.js';
import { redactConfig, hmac32, type RawRules } from '../helpers/redact.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'redact-csv-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** Writes `text` as the collector's file and redacts it; returns the output files' text. */
async function run(text: string, rules: Record<string, RawRules>, maxDataSize = 1 << 20, key = 'events') {
  const dir = await mkdtemp(join(root, 'c-'));
  const file = join(dir, `in${n++}.csv`);
  await writeFile(file, text);
  const result = await redactCollection({
    key, format: 'csv', files: [{ name: `${key}.csv`, file, size: Buffer.byteLength(text) }],
    redact: redactConfig(rules), maxDataSize, outputDir: dir,
  });
  const texts = await Promise.all(result.files.map((f) => readFile(f.file, 'utf8')));
  return { result, texts };
}

describe('CSV redaction', () => {
  it('drops, hashes (non-empty values) and masks, keeping records and their order', async () => {
    const text = 'id,user,email,note\n1,alice,a@x.org,from 10.0.0.1\n2,,b@x.org,"10.1.2.3, then ""x"""\n3,bob,c@x.org,\n';
    const { result, texts } = await run(text, {
      events: { drop: ['email'], hash: ['user'] },
      '*': { mask: [{ pattern: '\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b', replace: '0.0.0.0' }] },
    });
    assert.deepEqual(texts, [
      `id,user,note\n1,${hmac32('alice')},from 0.0.0.0\n2,,"0.0.0.0, then ""x"""\n3,${hmac32('bob')},\n`,
    ]);
    assert.deepEqual(result.redaction, { dropped: ['email'], hashed: ['user'], masked: 2 });
  });

  it('hashes the original value, not the masked one, and does not mask hashed columns', async () => {
    const { texts, result } = await run('user\n10.0.0.1\n', {
      events: { hash: ['user'], mask: [{ pattern: '\\d+', replace: 'N' }] },
    });
    assert.deepEqual(texts, [`user\n${hmac32('10.0.0.1')}\n`]);
    assert.equal(result.redaction?.masked, 0);
  });

  it('limits a mask to its columns and counts each changed value once', async () => {
    const { texts, result } = await run('a,b\n11 22,33\n', {
      events: { mask: [{ pattern: '\\d', replace: '#', columns: ['a'] }, { pattern: '#', replace: '*', columns: ['a'] }] },
    });
    assert.deepEqual(texts, ['a,b\n** **,33\n']);
    assert.equal(result.redaction?.masked, 1);
  });

  it('reads CRLF, a byte order mark, quoted newlines and a last record without a line end', async () => {
    const { texts } = await run('\ufeffid,secret,text\r\n1,s1,"two\r\nlines"\r\n2,s2,"a,b"', { events: { drop: ['secret'] } });
    assert.deepEqual(texts, ['id,text\n1,"two\r\nlines"\n2,"a,b"\n']);
  });

  it('fails closed when a column of the key\'s own rules is missing, naming it', async () => {
    await assert.rejects(run('id,mail\n1,a@x.org\n', { events: { drop: ['email'] } }), (err: Error) => {
      assert.ok(err instanceof RedactionError);
      assert.match(err.message, /"email" of redact\.rules\.events\.drop is not in the header/);
      return true;
    });
    await assert.rejects(run('id\n1\n', { events: { hash: ['user'] } }), /"user" of redact\.rules\.events\.hash/);
  });

  it('applies a "*" drop or hash only where the column is present', async () => {
    const { texts, result } = await run('id,name\n1,x\n', { '*': { drop: ['email'], hash: ['name'] } });
    assert.deepEqual(texts, [`id,name\n1,${hmac32('x')}\n`]);
    assert.deepEqual(result.redaction, { dropped: [], hashed: ['name'], masked: 0 });
  });

  it('splits the output so that no file exceeds maxDataSize', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `${i},user${i % 7},${'p'.repeat(i % 30)}`).join('\n');
    const { texts } = await run(`id,user,pad\n${rows}\n`, { events: { hash: ['user'] } }, 1000);
    assert.ok(texts.length > 5);
    const records = texts.flatMap((t) => {
      assert.ok(Buffer.byteLength(t) <= 1000);
      assert.ok(t.startsWith('id,user,pad\n'));
      const rows: string[][] = parse(t, { from_line: 2 });
      return rows.map((r) => Number(r[0]));
    });
    assert.deepEqual(records, Array.from({ length: 200 }, (_, i) => i));
  });

  it('announces each redacted file once complete, at its final size, for deflating ahead', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `${i},user${i % 7},${'p'.repeat(i % 30)}`).join('\n');
    const dir = await mkdtemp(join(root, 'ahead-'));
    const file = join(dir, 'in.csv');
    await writeFile(file, `id,user,pad\n${rows}\n`);
    const announced: [string, number][] = [];
    const result = await redactCollection({
      key: 'events', format: 'csv', files: [{ name: 'events.csv', file, size: 0 }], redact: redactConfig({ events: { hash: ['user'] } }),
      maxDataSize: 1000, outputDir: dir, onFileFinished: (path, size) => announced.push([path, size]),
    });
    assert.ok(result.files.length > 5);
    assert.deepEqual(announced, result.files.map((f) => [f.file, f.size]));
  });

  it('writes the same for a record read in one pass as for one read field by field, whichever comes when', async () => {
    // The one-pass reader (csv-bytes.ts) takes unquoted records whose masked values cannot change (the mask needs
    // three dots); it gives up on the others midway — after a hash, a mask that may apply, a quote, a CR inside a
    // field — and must leave nothing of them behind.
    const rows = [
      '1,alice,10.0.0.1,a', // the mask applies
      '2,bob,1.2,b',
      '3,,x.y.z,c', // an empty hashed value
      '4,"carol",5.6.7,d', // quoted
      '5,dave,"1,2",e',
      '6,eve,a\rb,f', // a CR inside an unquoted field: quoted in the output
      '7,frank,1.2.3.4.5,g',
      '8,gina,9.9.9,h\r', // CRLF
      '9,hal,1.1,i', // no line end
    ];
    const { texts, result } = await run(`id,user,ip,note\n${rows.join('\n')}`, {
      events: { drop: ['note'], hash: ['user'] },
      '*': { mask: [{ pattern: '\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b', replace: '0.0.0.0' }] },
    });
    const h = hmac32;
    assert.deepEqual(texts, [
      `id,user,ip\n1,${h('alice')},0.0.0.0\n2,${h('bob')},1.2\n3,,x.y.z\n4,${h('carol')},5.6.7\n5,${h('dave')},"1,2"\n` +
        `6,${h('eve')},"a\rb"\n7,${h('frank')},0.0.0.0.5\n8,${h('gina')},9.9.9\n9,${h('hal')},1.1\n`,
    ]);
    assert.equal(result.redaction?.masked, 2);
  });

  it('writes the same once the one-pass reader stops trying (most records quoted), and for a record longer than its room', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? `"u${i}",${i}` : `u${i},${i}`));
    rows.push(`long,${'x'.repeat(10_000)}`, 'last,1');
    const { texts } = await run(`user,n\n${rows.join('\n')}\n`, { events: { hash: ['user'] } });
    const expected = Array.from({ length: 3000 }, (_, i) => `${hmac32(`u${i}`)},${i}`);
    expected.push(`${hmac32('long')},${'x'.repeat(10_000)}`, `${hmac32('last')},1`);
    assert.deepEqual(texts, [`user,n\n${expected.join('\n')}\n`]);
  });

  it('keeps a header without records; writes nothing when every column is dropped', async () => {
    assert.deepEqual((await run('id,email\n', { events: { drop: ['email'] } })).texts, ['id\n']);
    const all = await run('email\nx\n', { events: { drop: ['email'] } });
    assert.deepEqual(all.texts, []);
    assert.deepEqual(all.result.redaction?.dropped, ['email']);
  });

  it('keeps a record of one empty field (an empty line, as CsvFileSplitter and csv-stringify write it)', async () => {
    const { texts } = await run('a,b\n,1\nx,2\n', { events: { drop: ['b'] } });
    assert.deepEqual(texts, ['a\n\nx\n']);
    assert.deepEqual(parse(texts[0]!), [['a'], [''], ['x']]);
  });

  for (const [text, reason] of [
    ['a,b\n1,x"y\n', /record 1: a double quote inside an unquoted field/],
    ['a,b\n1,"xy"z\n', /record 1: text follows the closing quote/],
    ['a,b\n1,"open\n', /a quoted field is not closed/],
    ['a,b\n1,2,3\n', /record 1: 3 fields where the header has 2/],
    // After records read in one pass (csv-bytes.ts), the one that is not is still counted in.
    ['a,b\n1,2\n3,4\n5,6,7\n', /record 3: 3 fields where the header has 2/],
    ['a,b\n1,2\n3\n4,5\n', /record 2: 1 fields where the header has 2/],
    ['a,b\n1,2\n3,x"y\n', /record 2: a double quote inside an unquoted field/],
  ] as const) {
    it(`fails on CSV it cannot read for sure: ${JSON.stringify(text)}`, async () => {
      await assert.rejects(run(text, { events: { drop: ['a'] } }), (err: Error) => err instanceof RedactionError && reason.test(err.message));
    });
  }

  it('replaces the collector\'s files and returns the files unchanged when no rule applies', async () => {
    const dir = await mkdtemp(join(root, 'none-'));
    const file = join(dir, 'x.csv');
    await writeFile(file, 'a\n1\n');
    const same = await redactCollection({ key: 'other', format: 'csv', files: [{ name: 'other.csv', file, size: 4 }], redact: redactConfig({ events: { drop: ['a'] } }), maxDataSize: 100, outputDir: dir });
    assert.deepEqual(same, { files: [{ name: 'other.csv', file, size: 4 }], redaction: null });
    const done = await redactCollection({ key: 'events', format: 'csv', files: [{ name: 'events.csv', file, size: 4 }], redact: redactConfig({ events: { mask: [{ pattern: '1' }] } }), maxDataSize: 100, outputDir: dir });
    assert.ok(!(await readdir(dir)).includes('x.csv'));
    assert.equal(await readFile(done.files[0]!.file, 'utf8'), 'a\n***\n');
  });
});
