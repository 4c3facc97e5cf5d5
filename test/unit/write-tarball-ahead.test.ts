/**
 * Members deflated ahead (`deflateMember`) are copied into the tarball as they are: the result is one valid gzip
 * stream (gzip -t, tar -t) whose content is byte for byte that of the same tarball written in one go.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { crc32, crc32Combine } from '../../src/pack/crc.js';
import { deflateGrowing, deflateMember, FileGrowth, writeTarball } from '../../src/pack/write-tarball.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const MTIME = new Date('2026-11-28T01:33:06.000Z');

describe('crc32Combine', () => {
  it('gives the CRC of the concatenation', () => {
    for (const [a, b] of [[0, 5], [10, 0], [1000, 77_777], [3, 1 << 20]] as const) {
      const A = randomBytes(a);
      const B = randomBytes(b);
      assert.equal(crc32Combine(crc32(A, 0), crc32(B, 0), b), crc32(Buffer.concat([A, B]), 0));
    }
  });
});

describe('writeTarball with members deflated ahead', () => {
  it('is one valid gzip stream with the same content as a tarball written in one go', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ac-ahead-'));
    dirs.push(dir);
    // Text (compressible) and random bytes, sizes across the 512 KiB block and the 512-byte tar block.
    const files = [
      ['big.csv', Buffer.from('id,name\n' + 'x'.repeat(1_300_001))],
      ['noise.csv', randomBytes(700_003)],
      ['small.json', Buffer.from('{"a":1}')],
      ['tail.csv', Buffer.from('a,b\n1,2\n')],
    ] as const;
    const members = [];
    for (const [name, bytes] of files) {
      const file = join(dir, name);
      await writeFile(file, bytes);
      members.push({ name, file });
    }
    const ahead = await Promise.all(
      members.slice(0, 2).map((m, i) => deflateMember({ ...m, mtime: MTIME, gzipLevel: 6, out: join(dir, `${i}.deflate`) })),
    );
    const withAhead = [{ ...members[0]!, deflated: ahead[0] }, members[2]!, { ...members[1]!, deflated: ahead[1] }, members[3]!];
    const oneGo = [members[0]!, members[2]!, members[1]!, members[3]!];
    await writeTarball({ path: join(dir, 'a.tar.gz'), members: withAhead, mtime: MTIME, gzipLevel: 6 });
    await writeTarball({ path: join(dir, 'b.tar.gz'), members: oneGo, mtime: MTIME, gzipLevel: 6 });
    execFileSync('gzip', ['-t', join(dir, 'a.tar.gz')]);
    assert.deepEqual(
      execFileSync('tar', ['-tzf', join(dir, 'a.tar.gz')], { encoding: 'utf8' }).trim().split('\n'),
      ['./big.csv', './small.json', './noise.csv', './tail.csv'],
    );
    const a = gunzipSync(await readFile(join(dir, 'a.tar.gz')));
    const b = gunzipSync(await readFile(join(dir, 'b.tar.gz')));
    assert.ok(a.equals(b), 'the same tar bytes');
  });

  it('a member that changed size since it was deflated is deflated again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ac-ahead-'));
    dirs.push(dir);
    const file = join(dir, 'grew.csv');
    await writeFile(file, 'a\n1\n');
    const segment = await deflateMember({ name: 'grew.csv', file, mtime: MTIME, gzipLevel: 6, out: join(dir, 's.deflate') });
    await writeFile(file, 'a\n1\n2\n');
    await writeTarball({ path: join(dir, 'c.tar.gz'), members: [{ name: 'grew.csv', file, deflated: segment }], mtime: MTIME, gzipLevel: 6 });
    assert.equal(execFileSync('tar', ['-xzOf', join(dir, 'c.tar.gz'), './grew.csv'], { encoding: 'utf8' }), 'a\n1\n2\n');
  });
});

describe('deflateGrowing: a member deflated while its file is written', () => {
  it('gives the same tarball content as one written in one go, whatever the pace of the writer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ac-ahead-'));
    dirs.push(dir);
    // Sizes around the 512 KiB block and the 512-byte tar block; random pieces so blocks are not all alike.
    for (const [i, total] of [1_300_001, 512 * 1024, 3 * 512 * 1024 + 512, 2_000_000].entries()) {
      const file = join(dir, `g${i}.csv`);
      await writeFile(file, '');
      const growth = new FileGrowth();
      const segment = deflateGrowing({ name: 'grown.csv', file, mtime: MTIME, gzipLevel: 6, out: join(dir, `g${i}.deflate`) }, growth);
      let written = 0;
      while (written < total) {
        const n = Math.min(total - written, 1 + Math.floor(Math.random() * 300_000));
        const piece = Math.random() < 0.5 ? randomBytes(n) : Buffer.alloc(n, 0x61 + (written % 26));
        await appendFile(file, piece);
        written += n;
        // Sometimes announce less than is written (the record in progress may still move).
        growth.grow(Math.max(0, written - Math.floor(Math.random() * 1000)));
      }
      growth.complete(total);
      const deflated = await segment;
      assert.equal(deflated.size, total);
      await writeTarball({ path: join(dir, `a${i}.tar.gz`), members: [{ name: 'grown.csv', file, deflated }], mtime: MTIME, gzipLevel: 6 });
      await writeTarball({ path: join(dir, `b${i}.tar.gz`), members: [{ name: 'grown.csv', file }], mtime: MTIME, gzipLevel: 6 });
      execFileSync('gzip', ['-t', join(dir, `a${i}.tar.gz`)]);
      const a = gunzipSync(await readFile(join(dir, `a${i}.tar.gz`)));
      const b = gunzipSync(await readFile(join(dir, `b${i}.tar.gz`)));
      assert.ok(a.equals(b), `the same tar bytes (${total} bytes)`);
    }
  });

  it('stops without a segment when the file is abandoned, and when it is not the size it was completed at', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ac-ahead-'));
    dirs.push(dir);
    const file = join(dir, 'g.csv');
    await writeFile(file, Buffer.alloc(700_000, 0x62));
    const abandoned = new FileGrowth();
    const first = deflateGrowing({ name: 'g.csv', file, mtime: MTIME, gzipLevel: 6, out: join(dir, 'a.deflate') }, abandoned);
    abandoned.grow(600_000);
    abandoned.abandon(new Error('the collection ended'));
    await assert.rejects(first, /the collection ended/);
    const wrong = new FileGrowth();
    const second = deflateGrowing({ name: 'g.csv', file, mtime: MTIME, gzipLevel: 6, out: join(dir, 'b.deflate') }, wrong);
    wrong.complete(600_000); // the file has 700 000 bytes
    await assert.rejects(second, /changed while being written/);
    assert.deepEqual(await readdir(dir), ['g.csv'], 'no segment file is left behind');
  });
});
