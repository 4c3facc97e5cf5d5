/**
 * The deflate jobs' output buffers (src/pack/write-tarball.ts): each block's deflate data goes into a pooled
 * buffer lent to zlib, given back once the block is written, and on every failure path. Tarballs written at
 * once, of data that compresses (CSV) and data that does not (random bytes, the largest output a block can
 * have), come out byte for byte what went in; none is lent out once they are written or aborted.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { outputsInUse, writeTarball, type TarballMemberFile } from '../../src/pack/write-tarball.js';

const root = mkdtempSync(join(tmpdir(), 'write-tarball-outputs-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (): string => mkdtempSync(join(root, `${dirCount++}-`));
const mtime = new Date('2026-11-28T01:33:06Z');
const MIB = 1024 * 1024;

/** CSV-like text of about `bytes` bytes: compressible, with matches reaching back across block boundaries. */
function csv(bytes: number, seed: number): Buffer {
  const lines: string[] = ['id,at,host,value\n'];
  let size = lines[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const line = `${i},2026-11-28T01:${String((i + seed) % 60).padStart(2, '0')}:00.000Z,host-${(i * seed) % 97},${(i * 7919 + seed) % 10007}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

function stage(dir: string, files: Record<string, Buffer>): TarballMemberFile[] {
  mkdirSync(join(dir, 'staging'));
  return Object.entries(files).map(([name, content]) => {
    const file = join(dir, 'staging', name);
    writeFileSync(file, content);
    return { name, file };
  });
}

/** Unpacks `path` with the tar CLI and checks every member against what was staged. */
function checkUnpacked(path: string, files: Record<string, Buffer>): void {
  const into = mkdtempSync(join(root, 'unpacked-'));
  execFileSync('tar', ['-xzf', path, '-C', into]);
  assert.deepEqual(readdirSync(into).sort(), Object.keys(files).sort());
  for (const [name, content] of Object.entries(files)) assert.ok(readFileSync(join(into, name)).equals(content), `${path}: ${name} differs`);
}

describe('deflate output buffers', () => {
  it('are given back once tarballs written at once are done, whose members unpack byte for byte', async () => {
    const sets = [6, 1, 9].map((level, i) => {
      const dir = freshDir();
      const files: Record<string, Buffer> = {
        'jobs.csv': csv(3 * MIB + 12_345 * i, i + 3),
        'noise.bin': randomBytes(MIB + 777 * i), // incompressible: the largest deflate output of a block
        'hosts.csv': csv(40_000, i + 11),
        'empty.csv': Buffer.alloc(0),
      };
      return { level, files, members: stage(dir, files), path: join(dir, `t${i}.tar.gz`) };
    });
    const written = await Promise.all(sets.map(({ path, members, level }) => writeTarball({ path, members, mtime, gzipLevel: level })));
    assert.equal(outputsInUse(), 0);
    for (const [i, { path, files }] of sets.entries()) {
      assert.equal(written[i]!.bytes, statSync(path).size);
      checkUnpacked(path, files);
    }
  });

  it('are given back when a tarball is aborted while others go on', async () => {
    const dir = freshDir();
    const kept = { 'jobs.csv': csv(4 * MIB, 5), 'noise.bin': randomBytes(2 * MIB) };
    const aborted = { 'noise.bin': randomBytes(16 * MIB), 'jobs.csv': csv(2 * MIB, 7) };
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    const keptPath = join(dir, 'a', 'kept.tar.gz');
    const abortedPath = join(dir, 'b', 'aborted.tar.gz');
    const controller = new AbortController();
    const writing = [
      writeTarball({ path: keptPath, members: stage(join(dir, 'a'), kept), mtime, gzipLevel: 6 }),
      writeTarball({ path: abortedPath, members: stage(join(dir, 'b'), aborted), mtime, gzipLevel: 9, signal: controller.signal }),
    ];
    // Abort once deflated blocks are being written (more than the gzip header), i.e. with blocks in flight.
    const partialSize = (): number => {
      const partial = readdirSync(join(dir, 'b')).find((f) => f.endsWith('.partial'));
      return partial === undefined ? 0 : statSync(join(dir, 'b', partial)).size;
    };
    while (partialSize() <= 10) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(outputsInUse() > 0, 'blocks in flight');
    controller.abort();
    const [keptResult, abortedResult] = await Promise.allSettled(writing);
    assert.equal(keptResult!.status, 'fulfilled');
    assert.ok(abortedResult?.status === 'rejected' && abortedResult.reason instanceof Error && abortedResult.reason.name === 'AbortError');
    assert.equal(outputsInUse(), 0);
    assert.deepEqual(readdirSync(join(dir, 'b')), ['staging']);
    checkUnpacked(keptPath, kept);
  });
});
