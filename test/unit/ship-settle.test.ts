import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { settleTarball } from '../../src/ship/settle.js';

let output: string;
beforeEach(async () => {
  output = await mkdtemp(join(tmpdir(), 'ac-settle-'));
});
afterEach(() => rm(output, { recursive: true, force: true }));

async function tarball(name: string, content = name): Promise<string> {
  const path = join(output, name);
  await writeFile(path, content);
  return path;
}

const exists = (path: string) => stat(path).then(() => true, () => false);

describe('settleTarball', () => {
  it('deletes a shipped tarball', async () => {
    const path = await tarball('a-0.tar.gz');
    assert.deepEqual(await settleTarball(path, true, { keep: false, output, keepFailed: 10 }), { action: 'deleted', path: null });
    assert.equal(await exists(path), false);
  });

  it('keeps a shipped tarball with --keep', async () => {
    const path = await tarball('a-0.tar.gz');
    assert.deepEqual(await settleTarball(path, true, { keep: true, output, keepFailed: 10 }), { action: 'kept', path });
    assert.equal(await exists(path), true);
  });

  it('moves a failed tarball into failed/ (mode 0700), even with --keep', async () => {
    const path = await tarball('a-0.tar.gz', 'payload');
    const settled = await settleTarball(path, false, { keep: true, output, keepFailed: 10 });
    const target = join(output, 'failed', 'a-0.tar.gz');
    assert.deepEqual(settled, { action: 'moved', path: target });
    assert.equal(await exists(path), false);
    assert.equal((await stat(target)).size, 7);
    assert.equal((await stat(join(output, 'failed'))).mode & 0o777, 0o700);
  });

  it('never overwrites a tarball already in failed/', async () => {
    await mkdir(join(output, 'failed'));
    await writeFile(join(output, 'failed', 'a-0.tar.gz'), 'older');
    const settled = await settleTarball(await tarball('a-0.tar.gz'), false, { keep: false, output, keepFailed: 10 });
    assert.equal(settled.path, join(output, 'failed', 'a-0.1.tar.gz'));
    assert.deepEqual((await readdir(join(output, 'failed'))).sort(), ['a-0.1.tar.gz', 'a-0.tar.gz']);
  });

  it('keeps only the newest keepFailed tarballs in failed/', async () => {
    const failed = join(output, 'failed');
    await mkdir(failed);
    for (let i = 0; i < 4; i++) {
      const old = join(failed, `old-${i}.tar.gz`);
      await writeFile(old, 'x');
      const when = new Date(Date.UTC(2020, 0, 1 + i));
      await utimes(old, when, when);
    }
    await writeFile(join(failed, 'notes.txt'), 'not a tarball');
    const settled = await settleTarball(await tarball('new-0.tar.gz'), false, { keep: false, output, keepFailed: 3 });
    assert.equal(settled.path, join(failed, 'new-0.tar.gz'));
    assert.deepEqual((await readdir(failed)).sort(), ['new-0.tar.gz', 'notes.txt', 'old-2.tar.gz', 'old-3.tar.gz']);
  });

  it('with keepFailed 0 keeps nothing', async () => {
    const settled = await settleTarball(await tarball('a-0.tar.gz'), false, { keep: false, output, keepFailed: 0 });
    assert.deepEqual(settled, { action: 'moved', path: null });
    assert.deepEqual(await readdir(join(output, 'failed')), []);
  });
});
