/**
 * §2/§8: a single huge record is streamed, never held whole — by `writable()` and by `copyToCsv` from the local
 * PostgreSQL — and the split still falls between records. Each case runs in a child `node` on the built dist/
 * (no tsx), which reports its own peak RSS (`process.resourceUsage().maxRSS`); the bound is 128 MiB.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, requireBuild } from '../helpers/fault-cli.js';
import { PG_URL, pgSkipReason } from '../helpers/pg.js';

const MiB = 1024 * 1024;
const pgSkip = await pgSkipReason();
const PEAK_LIMIT = 128 * MiB;

/** The child: writes CSV through the built CsvFileSplitter, prints `{ files, peak }` as JSON. */
const CHILD = `
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
const { CsvFileSplitter } = await import(${JSON.stringify(join(REPO, 'dist', 'index.js'))});
const { copyToCsv } = await import(${JSON.stringify(join(REPO, 'dist', 'postgres', 'index.js'))});
const [dir, kind, maxFileSize, small, big] = process.argv.slice(2);
const out = new CsvFileSplitter({ path: join(dir, 'out.csv'), maxFileSize: Number(maxFileSize) });
let files;
if (kind === 'writable') {
  // header, then \`small\` bytes of small records, then one record of \`big\` bytes (a quoted field with newlines).
  async function* source() {
    yield Buffer.from('id,value\\n');
    const row = Buffer.from('1,small\\n');
    for (let n = 0; n < Number(small); n += row.length) yield row;
    yield Buffer.from('2,"');
    const piece = Buffer.alloc(64 * 1024, 'x');
    piece[100] = 0x0a; // a newline inside the quoted field
    for (let n = 0; n < Number(big); n += piece.length) yield piece;
    yield Buffer.from('"\\n');
    yield Buffer.from('3,after\\n');
  }
  await pipeline(Readable.from(source(), { objectMode: false }), out.writable());
  files = await out.close();
} else {
  const query = Number(small) > 0
    ? "SELECT * FROM (VALUES (1, 'small'), (2, repeat('y', " + Number(big) + "))) AS t(id, value) ORDER BY id"
    : "SELECT 2 AS id, repeat('y', " + Number(big) + ") AS value";
  files = await copyToCsv({ connectionString: process.env.PG_URL, query, out });
}
process.stdout.write(JSON.stringify({ files, peak: process.resourceUsage().maxRSS * 1024 }));
`;

interface ChildResult {
  files: string[];
  peak: number;
}

async function runChild(dir: string, args: (string | number)[]): Promise<ChildResult> {
  const script = join(dir, 'child.mjs');
  await writeFile(script, CHILD);
  const child = spawn(process.execPath, [script, dir, ...args.map(String)], { env: { ...process.env, PG_URL }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout) as ChildResult;
  process.stderr.write(`# peak RSS ${(result.peak / MiB).toFixed(1)} MiB for ${args.join(' ')}\n`);
  return result;
}

/** First bytes of a file, and whether it ends with LF. */
async function head(path: string, bytes = 16): Promise<string> {
  const stream = createReadStream(path, { start: 0, end: bytes - 1, encoding: 'latin1' });
  let text = '';
  for await (const chunk of stream) text += chunk as string;
  return text;
}

async function lastByte(path: string): Promise<string> {
  const { size } = await stat(path);
  const stream = createReadStream(path, { start: size - 1, end: size - 1, encoding: 'latin1' });
  let text = '';
  for await (const chunk of stream) text += chunk as string;
  return text;
}

describe('huge records stream with flat memory', { timeout: 600_000 }, () => {
  let dir: string;
  before(async () => {
    requireBuild();
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const fresh = async (): Promise<string> => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), 'ac-huge-'));
    return dir;
  };

  test('writable(): one 150 MB record at the default 200 MiB limit stays in one file', async () => {
    const d = await fresh();
    const { files, peak } = await runChild(d, ['writable', 200 * MiB, 0, 150_000_000]);
    assert.ok(peak <= PEAK_LIMIT, `peak RSS ${Math.round(peak / MiB)} MiB`);
    assert.equal(files.length, 1);
    assert.ok((await stat(files[0]!)).size > 150_000_000);
  });

  test('writable(): a 150 MB record that does not fit after small ones moves whole to the next file', async () => {
    const d = await fresh();
    // 1 MiB of small records, then the big one, with a 100 MiB limit: it starts in file 1, then moves.
    const { files, peak } = await runChild(d, ['writable', 100 * MiB, MiB, 150_000_000]);
    assert.ok(peak <= PEAK_LIMIT, `peak RSS ${Math.round(peak / MiB)} MiB`);
    assert.equal(files.length, 3);
    const [first, second, third] = files as [string, string, string];
    assert.ok((await stat(first)).size < 2 * MiB && (await stat(first)).size > MiB);
    assert.equal(await lastByte(first), '\n');
    assert.equal(await head(second, 12), 'id,value\n2,"');
    assert.ok((await stat(second)).size > 150_000_000);
    assert.equal(await head(third, 17), 'id,value\n3,after\n');
  });

  describe('copyToCsv from PostgreSQL', { skip: pgSkip }, () => {
    test('a single 150 MB record at the default limit', async () => {
      const d = await fresh();
      const { files, peak } = await runChild(d, ['copy', 200 * MiB, 0, 150_000_000]);
      assert.ok(peak <= PEAK_LIMIT, `peak RSS ${Math.round(peak / MiB)} MiB`);
      assert.equal(files.length, 1);
      assert.equal((await stat(files[0]!)).size, 'id,value\n'.length + '2,'.length + 150_000_000 + 1);
    });

    test('a 400 MB value after a small row, limit 1 GiB: one file, both records', async () => {
      const d = await fresh();
      const { files, peak } = await runChild(d, ['copy', 1024 * MiB, 1, 400_000_000]);
      assert.ok(peak <= PEAK_LIMIT, `peak RSS ${Math.round(peak / MiB)} MiB`);
      assert.equal(files.length, 1);
      assert.equal(await head(files[0]!, 21), 'id,value\n1,small\n2,yy');
      assert.equal((await stat(files[0]!)).size, 'id,value\n1,small\n2,'.length + 400_000_000 + 1);
    });

    test('a 400 MB value after a small row, limit 200 MiB: the big record moves to a file of its own', async () => {
      const d = await fresh();
      const { files, peak } = await runChild(d, ['copy', 200 * MiB, 1, 400_000_000]);
      assert.ok(peak <= PEAK_LIMIT, `peak RSS ${Math.round(peak / MiB)} MiB`);
      assert.equal(files.length, 2);
      assert.equal(await head(files[0]!, 40), 'id,value\n1,small\n');
      assert.equal(await head(files[1]!, 14), 'id,value\n2,yyy');
    });
  });
});
