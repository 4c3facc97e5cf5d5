/**
 * Deflating ahead while a collector still runs (issue 16): a CsvFileSplitter announces each file it finished
 * in a watched directory, with its final size; the run's DeflateAhead deflates those files at once and keeps
 * only what the collector returned, at the size it was deflated at.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { CsvFileSplitter } from '../../src/collect/csv-splitter.js';
import { watchFinishedFiles } from '../../src/collect/finished.js';
import { DeflateAhead } from '../../src/run/ahead.js';
import type { DeflatedSegment } from '../../src/pack/write-tarball.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function fresh(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ac-run-ahead-'));
  dirs.push(dir);
  return dir;
}
const MTIME = new Date('2026-11-28T00:00:00.000Z');

describe('CsvFileSplitter announces the files it finished', () => {
  it('each file once, with its final size, as soon as it is closed (rows path)', async () => {
    const dir = await fresh();
    const seen: [string, number][] = [];
    const unwatch = watchFinishedFiles(dir, (file, size) => seen.push([file, size]));
    // Rows are written out a MiB at a time: 3 MiB of rows in files of 256 KiB.
    const out = new CsvFileSplitter({ path: join(dir, 't.csv'), maxFileSize: 256 * 1024, columns: ['id', 'name'] });
    let announcedBeforeClose = 0;
    for (let i = 0; i < 150_000; i++) {
      await out.write([i, `name ${i}`]);
      announcedBeforeClose = seen.length;
    }
    const files = await out.close();
    unwatch();
    assert.ok(files.length > 3);
    assert.ok(announcedBeforeClose >= files.length / 3, `finished files are announced while rows still come (${announcedBeforeClose} of ${files.length})`);
    assert.deepEqual(seen.map(([file]) => file), files);
    for (const [file, size] of seen) assert.equal(size, (await stat(file)).size);
  });

  it('with the CSV text path, where a record that does not fit moves to the next file', async () => {
    const dir = await fresh();
    const seen: [string, number][] = [];
    const unwatch = watchFinishedFiles(dir, (file, size) => seen.push([file, size]));
    const out = new CsvFileSplitter({ path: join(dir, 't.csv'), maxFileSize: 1000 });
    const text = 'id,note\n' + Array.from({ length: 300 }, (_, i) => `${i},"line ${i}\n${'x'.repeat(i % 50)}"\n`).join('');
    // Chunks that cut records anywhere, so a record's start often has to move to the next file.
    const chunks = Array.from({ length: Math.ceil(text.length / 97) }, (_, i) => text.slice(i * 97, i * 97 + 97));
    await pipeline(Readable.from(chunks), out.writable());
    const files = await out.close();
    unwatch();
    assert.deepEqual(seen.map(([file]) => file), files);
    for (const [file, size] of seen) assert.equal(size, (await stat(file)).size);
  });

  it('announces how much of a file being written is final: those bytes never change afterwards', async () => {
    for (const path of ['rows', 'text'] as const) {
      const dir = await fresh();
      const grown: { file: string; size: number; prefix: Buffer }[] = [];
      const finished = new Map<string, number>();
      const unwatch = watchFinishedFiles(
        dir,
        (file, size) => finished.set(file, size),
        (file, size) => grown.push({ file, size, prefix: readFileSync(file).subarray(0, size) }),
      );
      // Files of 3 MiB, written out a MiB at a time; on the text path records span chunks and some move on.
      const out = new CsvFileSplitter({ path: join(dir, 't.csv'), maxFileSize: 3 * 1024 * 1024, ...(path === 'rows' ? { columns: ['id', 'note'] } : {}) });
      if (path === 'rows') {
        for (let i = 0; i < 200_000; i++) await out.write([i, `note ${i} ${'y'.repeat(i % 90)}`]);
      } else {
        // Records of about a MiB: a flush (every MiB) nearly always falls inside one, so the record that does not
        // fit at the end of a file was partly written already, and moves.
        const text = 'id,note\n' + Array.from({ length: 20 }, (_, i) => `${i},"line ${i}\n${'x'.repeat(800_000 + ((i * 37_777) % 600_000))}"\n`).join('');
        const chunks = Array.from({ length: Math.ceil(text.length / 65_521) }, (_, i) => text.slice(i * 65_521, i * 65_521 + 65_521));
        await pipeline(Readable.from(chunks), out.writable());
      }
      const files = await out.close();
      unwatch();
      assert.ok(files.length >= 2, `${path}: several files`);
      assert.ok(grown.length >= files.length, `${path}: growth is announced while the files are written (${grown.length})`);
      const last = new Map<string, number>();
      for (const { file, size, prefix } of grown) {
        assert.ok(size > (last.get(file) ?? 0), `${path}: ${file} only grows`);
        last.set(file, size);
        assert.ok(size <= finished.get(file)!, `${path}: never past the size the file is finished at`);
        assert.ok((await readFile(file)).subarray(0, size).equals(prefix), `${path}: the announced bytes of ${file} did not change`);
      }
    }
  });

  it('says nothing for a directory nobody watches, nor after the watch ends', async () => {
    const dir = await fresh();
    const seen: string[] = [];
    watchFinishedFiles(dir, (file) => seen.push(file))();
    const out = new CsvFileSplitter({ path: join(dir, 't.csv'), maxFileSize: 100, columns: ['id'] });
    for (let i = 0; i < 100; i++) await out.write([i]);
    await out.close();
    assert.deepEqual(seen, []);
  });
});

describe('DeflateAhead for one collection', () => {
  async function bigFile(dir: string, name: string, bytes: number): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, 'id,v\n' + 'x'.repeat(bytes));
    return file;
  }

  it('uses what was deflated early for the files returned, removes the rest', async () => {
    const dir = await fresh();
    const ahead = new DeflateAhead({ dir: join(dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal, minBytes: 1000 });
    const early = ahead.collection('t.csv');
    const kept = await bigFile(dir, 'kept.csv', 5000);
    const dropped = await bigFile(dir, 'dropped.csv', 5000);
    early.finished(kept, 5005);
    early.finished(dropped, 5005);
    await early.done([{ name: 't.csv', file: kept, size: 5005 }]);
    const segment = await ahead.segmentOf(kept);
    assert.ok(segment, 'the kept file was deflated');
    assert.equal(segment.size, 5005);
    assert.equal(ahead.segmentOf(dropped), undefined, 'a file the collector did not return is not kept');
    await ahead.drain();
    assert.deepEqual(await readdir(join(dir, 'ahead')), [segment.file.split('/').pop()], 'only the kept segment is on disk');
  });

  it('deflates again a file that changed after it was announced', async () => {
    const dir = await fresh();
    const ahead = new DeflateAhead({ dir: join(dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal, minBytes: 1000 });
    const early = ahead.collection('t.csv');
    const file = await bigFile(dir, 'grew.csv', 5000);
    early.finished(file, 5005);
    await ahead.segmentOf(file); // deflated at 5005 bytes
    await appendFile(file, 'more\n');
    await early.done([{ name: 't.csv', file, size: 5010 }]);
    assert.equal((await ahead.segmentOf(file))?.size, 5010);
    await ahead.drain();
    assert.equal((await readdir(join(dir, 'ahead'))).length, 1);
  });

  it('deflates a file while it is written, and keeps it once it is finished and returned', async () => {
    const dir = await fresh();
    const ahead = new DeflateAhead({ dir: join(dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal });
    const early = ahead.collection('t.csv');
    const file = join(dir, 'big.csv');
    await writeFile(file, '');
    for (let i = 0; i < 6; i++) {
      await appendFile(file, Buffer.alloc(400_000, 0x61 + i));
      early.grown(file, (i + 1) * 400_000);
    }
    early.finished(file, 2_400_000);
    await early.done([{ name: 't.csv', file, size: 2_400_000 }]);
    const segment = await ahead.segmentOf(file);
    assert.ok(segment?.head, 'deflated as it grew (the header comes separately)');
    assert.equal(segment.size, 2_400_000);
    await ahead.drain();
  });

  it('stops deflating a file the collection never finished, and keeps nothing of it', async () => {
    const dir = await fresh();
    const ahead = new DeflateAhead({ dir: join(dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal });
    const early = ahead.collection('t.csv');
    const file = join(dir, 'big.csv');
    await writeFile(file, Buffer.alloc(1_500_000, 0x61));
    early.grown(file, 1_500_000);
    // The collector returned the file without its splitter finishing it (no close()): packed the usual way.
    await early.done([{ name: 't.csv', file, size: 1_500_000 }]);
    const segment = await ahead.segmentOf(file);
    assert.equal(segment?.head, undefined, 'deflated again, from the start, as a finished file');
    await ahead.drain();
    assert.equal((await readdir(join(dir, 'ahead'))).length, 1, 'the abandoned growing segment is removed');
  });

  it('removes everything deflated early when the collection failed', async () => {
    const dir = await fresh();
    const ahead = new DeflateAhead({ dir: join(dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal, minBytes: 1000 });
    const early = ahead.collection('t.csv');
    const file = await bigFile(dir, 'a.csv', 5000);
    early.finished(file, 5005);
    await early.done([]);
    early.finished(await bigFile(dir, 'late.csv', 5000), 5005); // after done: ignored
    await ahead.drain();
    assert.equal(ahead.segmentOf(file), undefined);
    assert.deepEqual(await readdir(join(dir, 'ahead')).catch(() => []), []);
  });
});

describe('DeflateAhead across collections', () => {
  const MIB = 1024 * 1024;
  /** A stand-in for deflateMember that records what it was asked to deflate; `hold` files wait for `release`. */
  function recordingDeflate(hold: Set<string>) {
    const asked: string[] = [];
    const waiting = new Map<string, () => void>();
    const askedFor = new Map<string, () => void>();
    const deflate = async (spec: { file: string; out: string }): Promise<DeflatedSegment> => {
      asked.push(spec.file);
      askedFor.get(spec.file)?.();
      if (hold.has(spec.file)) await new Promise<void>((resolve) => waiting.set(spec.file, resolve));
      return { file: spec.out, crc: 0, length: 0, size: 0 };
    };
    /** Resolves once `file` was asked for. */
    const whenAsked = (file: string): Promise<void> =>
      asked.includes(file) ? Promise.resolve() : new Promise((resolve) => askedFor.set(file, resolve));
    return { asked, deflate, whenAsked, release: (file: string) => waiting.get(file)?.() };
  }

  it('deflates a small file at once, not behind a big one; big files one at a time', { timeout: 30_000 }, async () => {
    const dir = await fresh();
    const big = join(dir, 'big.csv');
    const big2 = join(dir, 'big2.csv');
    const small = join(dir, 'small.csv');
    const fake = recordingDeflate(new Set([big, big2]));
    const ahead = new DeflateAhead({ dir: join(dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal, deflate: fake.deflate });
    ahead.start([
      { name: 'big.csv', file: big, size: 64 * MIB },
      { name: 'big2.csv', file: big2, size: 64 * MIB },
    ]);
    ahead.start([{ name: 'small.csv', file: small, size: MIB }]);
    // The big one is still being deflated (held); the small one, started after both, is done all the same.
    assert.ok(await ahead.segmentOf(small));
    assert.deepEqual(fake.asked.filter((f) => f !== small), [big], 'the second big file waits for the first');
    fake.release(big);
    await ahead.segmentOf(big);
    await fake.whenAsked(big2);
    fake.release(big2);
    await ahead.drain();
    assert.deepEqual(fake.asked.sort(), [big, big2, small].sort());
  });
});
