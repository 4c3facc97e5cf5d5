import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create } from 'tar';
import { AppError } from '../../src/errors.js';
import { shipInfoFromFile } from '../../src/ship/info.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ac-ship-info-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('shipInfoFromFile', () => {
  it('lists members with sizes, and until from the entries', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'jobs.csv'), 'a,b\n1,2\n');
    await writeFile(join(src, 'config.json'), '{}');
    const until = new Date('2026-11-28T01:33:06Z');
    const path = join(dir, 'analytics-x-0.tar.gz');
    await create({ gzip: true, file: path, cwd: src, portable: true, mtime: until }, ['./jobs.csv', './config.json']);
    const info = await shipInfoFromFile(path);
    assert.equal(info.fileName, 'analytics-x-0.tar.gz');
    assert.ok(info.bytes > 0);
    assert.deepEqual(info.members, [
      { name: 'jobs.csv', size: 8 },
      { name: 'config.json', size: 2 },
    ]);
    assert.equal(info.until.toISOString(), until.toISOString());
    assert.equal(info.since, null);
  });

  it('is a usage error for a missing, damaged or empty file, naming it', async () => {
    const garbage = join(dir, 'garbage.tar.gz');
    await writeFile(garbage, 'this is not a tarball at all, not even close '.repeat(20));
    for (const path of [join(dir, 'missing.tar.gz'), garbage, dir]) {
      await assert.rejects(shipInfoFromFile(path), (err: unknown) => err instanceof AppError && err.code === 'USAGE' && err.message.startsWith(path));
    }
  });
});
