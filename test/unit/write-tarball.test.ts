import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { AppError } from '../../src/errors.js';
import { readTarball } from '../../src/pack/read-tarball.js';
import { writeTarball, type TarballMemberFile } from '../../src/pack/write-tarball.js';

const root = mkdtempSync(join(tmpdir(), 'write-tarball-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (): string => mkdtempSync(join(root, `${dirCount++}-`));

const mtime = new Date('2026-11-28T01:33:06.789Z');
const tarCli = (...args: string[]): string => execFileSync('tar', args, { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });

/** Staging files with awkward modes and owners, to show that none of it leaks into the tarball. */
function stage(dir: string, files: Record<string, string | Buffer>): TarballMemberFile[] {
  const staging = join(dir, 'staging');
  mkdirSync(staging, { recursive: true });
  return Object.entries(files).map(([name, content], i) => {
    const file = join(staging, `slice-${i}-${name}.tmp`);
    writeFileSync(file, content);
    chmodSync(file, i % 2 === 0 ? 0o600 : 0o755);
    if (process.getuid?.() === 0) chownSync(file, 1234, 5678);
    return { name, file };
  });
}

/** CSV-like text of `rows` rows from `first`: compressible, like the tables we pack. */
function csvText(first: number, rows: number): string {
  let text = '';
  for (let i = first; i < first + rows; i++) text += `${i},2026-11-28T01:${String(i % 60).padStart(2, '0')}:00.000Z,host-${i % 97},${(i * 7919) % 10007}\n`;
  return text;
}

const openFds = (): number => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);

describe('writeTarball', () => {
  it('writes portable ./ entries in order, readable by the tar CLI, with the inputs as bytes', async () => {
    const dir = freshDir();
    const contents = {
      'jobs.csv': 'id,name\n1,"a\nb"\n',
      'empty.csv': '',
      'block.csv': Buffer.alloc(1024, 'x'),
      'config.json': '{"product":"example"}',
      'data_collection_status.csv': 'collection_start_timestamp,since,until,file_name,status,elapsed\n',
      'manifest.json': '{"jobs.csv":"1.1"}',
    };
    const members = stage(dir, contents);
    const path = join(dir, 'analytics-2026-11-28-013306+0000-0.tar.gz');
    const result = await writeTarball({ path, members, mtime, gzipLevel: 6 });

    assert.equal(result.bytes, statSync(path).size);
    assert.deepEqual(result.members, Object.entries(contents).map(([name, c]) => ({ name, size: Buffer.byteLength(c) })));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ['analytics-2026-11-28-013306+0000-0.tar.gz', 'staging']);

    const listing = tarCli('--numeric-owner', '--full-time', '-tvzf', path).trim().split('\n');
    assert.deepEqual(
      listing.map((line) => line.split(/\s+/)),
      Object.entries(contents).map(([name, c]) => ['-rw-r--r--', '0/0', String(Buffer.byteLength(c)), '2026-11-28', '01:33:06', `./${name}`]),
    );
    // No user or group names: without --numeric-owner the tar CLI still shows 0/0.
    assert.match(tarCli('-tvzf', path), /^-rw-r--r-- 0\/0 /);

    const out = join(dir, 'extracted');
    mkdirSync(out);
    tarCli('-xzf', path, '-C', out);
    for (const [name, content] of Object.entries(contents)) assert.deepEqual(readFileSync(join(out, name)), Buffer.from(content));
    execFileSync('gzip', ['-t', path]);
  });

  it('compresses in blocks that join into one gzip stream, as small as one deflate stream', async () => {
    const dir = freshDir();
    // Several blocks, members crossing block boundaries, a member smaller than the dictionary after a big one.
    const contents = { 'a.csv': csvText(0, 40_000), 'tiny.json': '{"a":1}', 'b.csv': csvText(40_000, 25_000), 'c.csv': randomBytes(100_000) };
    const path = join(dir, 'blocks.tar.gz');
    const result = await writeTarball({ path, members: stage(dir, contents), mtime, gzipLevel: 6 });
    const gz = readFileSync(path);
    const tar = gunzipSync(gz); // checks the CRC-32 and length in the trailer
    assert.equal(gz.length, result.bytes);
    assert.equal(gz[8], 0); // XFL as zlib writes it for level 6
    // The tar bytes: each member after its 512-byte header, padded to 512 bytes, then two zero blocks.
    let at = 0;
    for (const [name, content] of Object.entries(contents)) {
      const bytes = Buffer.from(content);
      assert.equal(tar.subarray(at + 2, at + 2 + name.length).toString(), name);
      assert.deepEqual(tar.subarray(at + 512, at + 512 + bytes.length), bytes);
      at += 512 + Math.ceil(bytes.length / 512) * 512;
    }
    assert.equal(tar.length, at + 1024);
    assert.ok(tar.subarray(at).every((b) => b === 0));
    // Within 0.25 % of deflating the same bytes as one stream with the writer's settings (blocks without the
    // 32 KiB before them: +1 %; on this mix of CSV and random bytes the blocks come out 0.15 % bigger).
    const single = gzipSync(tar, { level: 6, memLevel: 9 }).length;
    assert.ok(Math.abs(gz.length - single) / single < 0.0025, `${gz.length} bytes vs ${single} as one stream`);
  });

  it('packs members given as bytes in memory beside members from files, the same as from files', async () => {
    const dir = freshDir();
    const contents = {
      'jobs.csv': csvText(0, 20_000),
      'config.json': '{"product":"example"}',
      'data_collection_status.csv': 'collection_start_timestamp,since,until,file_name,status,elapsed\n',
      'manifest.json': `{"${'k'.repeat(120)}.csv":"1.0"}`,
    };
    const fromFiles = stage(join(dir, 'files'), contents);
    const mixed = fromFiles.map((m, i) => (i % 2 === 1 ? { name: m.name, bytes: readFileSync(m.file) } : m));
    const [a, b] = [join(dir, 'files.tar.gz'), join(dir, 'mixed.tar.gz')];
    const written = await writeTarball({ path: a, members: fromFiles, mtime, gzipLevel: 6 });
    assert.deepEqual(await writeTarball({ path: b, members: mixed, mtime, gzipLevel: 6 }), written);
    assert.deepEqual(readFileSync(b), readFileSync(a));
    const out = join(dir, 'extracted');
    mkdirSync(out);
    tarCli('-xzf', b, '-C', out);
    for (const [name, content] of Object.entries(contents)) assert.deepEqual(readFileSync(join(out, name)), Buffer.from(content));
  });

  it('writes many tarballs at once, sharing the compression slots, each with its own bytes', async () => {
    const dir = freshDir();
    const jobs = Array.from({ length: 6 }, (_, i) => {
      const contents = { [`t${i}.csv`]: csvText(i * 100_000, 15_000 + i * 5000) };
      return { path: join(dir, `t${i}.tar.gz`), contents, members: stage(join(dir, `s${i}`), contents) };
    });
    await Promise.all(jobs.map((j) => writeTarball({ path: j.path, members: j.members, mtime, gzipLevel: 1 })));
    for (const j of jobs) {
      const [name, content] = Object.entries(j.contents)[0]!;
      assert.deepEqual(gunzipSync(readFileSync(j.path)).subarray(512, 512 + content.length), Buffer.from(content), name);
    }
  });

  it('fails when a member grows while being packed, and goes on working afterwards', async () => {
    const dir = freshDir();
    const [big, late] = stage(dir, { 'big.csv': randomBytes(12 * 1024 * 1024), 'late.csv': 'a\n' });
    const path = join(dir, 'grew.tar.gz');
    const writing = writeTarball({ path, members: [big!, late!], mtime, gzipLevel: 9 });
    // Sizes are taken before the partial file is made; grow the second member while the first is compressed.
    while (!readdirSync(dir).some((f) => f.endsWith('.partial'))) await new Promise((resolve) => setImmediate(resolve));
    appendFileSync(late!.file, 'b\n');
    await assert.rejects(writing, /late\.csv\.tmp as late\.csv into .*grew\.tar\.gz: it changed size while being packed/);
    assert.deepEqual(readdirSync(dir), ['staging']);
    // Every compression slot came back: more tarballs than slots still get written.
    const again = Array.from({ length: 5 }, (_, i) => join(dir, `after-${i}.tar.gz`));
    await Promise.all(again.map((p) => writeTarball({ path: p, members: [late!], mtime, gzipLevel: 1 })));
    for (const p of again) assert.equal(gunzipSync(readFileSync(p)).subarray(512, 516).toString(), 'a\nb\n');
  });

  it('keeps member names longer than 100 bytes whole (pax header)', async () => {
    const dir = freshDir();
    const name = `${'k'.repeat(150)}.csv`;
    const path = join(dir, 'long.tar.gz');
    await writeTarball({ path, members: stage(dir, { [name]: 'a\n1\n' }), mtime, gzipLevel: 1 });
    assert.equal(tarCli('-tzf', path).trim(), `./${name}`);
    assert.deepEqual((await readTarball(path)).members, [{ name, size: 4 }]);
  });

  it('never overwrites an existing file', async () => {
    const dir = freshDir();
    const path = join(dir, 'taken.tar.gz');
    writeFileSync(path, 'precious');
    await assert.rejects(
      writeTarball({ path, members: stage(dir, { 'a.json': '{}' }), mtime, gzipLevel: 6 }),
      /taken\.tar\.gz already exists and is never overwritten/,
    );
    assert.equal(readFileSync(path, 'utf8'), 'precious');
    assert.deepEqual(readdirSync(dir).sort(), ['staging', 'taken.tar.gz']);
  });

  it('leaves nothing behind when aborted midway, and closes every file it opened', async () => {
    const dir = freshDir();
    const members = stage(dir, { 'noise.csv': randomBytes(16 * 1024 * 1024) }); // slow to compress at level 9
    const path = join(dir, 'aborted.tar.gz');
    const fdsBefore = openFds();
    const controller = new AbortController();
    const writing = writeTarball({ path, members, mtime, gzipLevel: 9, signal: controller.signal });
    // Abort once the partial file exists, i.e. while compressing.
    while (!readdirSync(dir).some((f) => f.endsWith('.partial'))) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await assert.rejects(writing, { name: 'AbortError' });
    assert.deepEqual(readdirSync(dir), ['staging']);
    assert.equal(openFds(), fdsBefore);
  });

  it('rejects at once with an aborted signal', async () => {
    const dir = freshDir();
    const path = join(dir, 'x.tar.gz');
    await assert.rejects(
      writeTarball({ path, members: stage(dir, { 'a.json': '{}' }), mtime, gzipLevel: 6, signal: AbortSignal.abort() }),
      { name: 'AbortError' },
    );
    assert.deepEqual(readdirSync(dir), ['staging']);
  });

  it('rejects a missing member file, a bad name or a duplicate, leaving nothing', async () => {
    const dir = freshDir();
    const path = join(dir, 'x.tar.gz');
    const base = { path, mtime, gzipLevel: 6 };
    await assert.rejects(writeTarball({ ...base, members: [{ name: 'a.csv', file: join(dir, 'missing.csv') }] }), /cannot pack .*missing\.csv as a\.csv into .*x\.tar\.gz: ENOENT/);
    const [member] = stage(dir, { 'a.csv': 'a\n' });
    await assert.rejects(writeTarball({ ...base, members: [{ ...member!, name: './a.csv' }] }), /must be a plain file name/);
    await assert.rejects(writeTarball({ ...base, members: [member!, member!] }), /member a\.csv is given twice/);
    await assert.rejects(writeTarball({ ...base, gzipLevel: 0, members: [member!] }), /gzipLevel must be an integer from 1 to 9/);
    assert.deepEqual(readdirSync(dir), ['staging']);
  });
});

describe('readTarball', () => {
  it('lists members without ./ and reads small ones', async () => {
    const dir = freshDir();
    const path = join(dir, 't.tar.gz');
    const big = Buffer.alloc(3 * 1024 * 1024, 'b');
    await writeTarball({
      path,
      members: stage(dir, { 'big.csv': big, 'config.json': '{"a":1}', 'manifest.json': '{"big.csv":"1.0"}' }),
      mtime,
      gzipLevel: 1,
    });
    const tarball = await readTarball(path);
    assert.deepEqual(tarball.members, [
      { name: 'big.csv', size: big.length },
      { name: 'config.json', size: 7 },
      { name: 'manifest.json', size: 17 },
    ]);
    assert.deepEqual(await tarball.read('big.csv'), big); // not kept (over 1 MiB): read in a second pass
    await assert.rejects(tarball.read('nope.json'), (err: AppError) => err.code === 'USAGE' && /has no member nope\.json/.test(err.message));
    const nothingKept = await readTarball(path, { keep: () => false });
    assert.equal((await nothingKept.read('config.json')).toString(), '{"a":1}');
    rmSync(path); // small members were kept while listing: no second pass needed
    assert.equal((await tarball.read('manifest.json')).toString(), '{"big.csv":"1.0"}');
    assert.equal((await tarball.read('config.json')).toString(), '{"a":1}');
  });

  it('skips directory entries of tarballs made elsewhere', async () => {
    const dir = freshDir();
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.json'), '[]');
    const path = join(dir, 'gnu.tar.gz');
    tarCli('-czf', path, '-C', src, '.');
    assert.deepEqual((await readTarball(path)).members, [{ name: 'a.json', size: 2 }]);
  });

  it('rejects a missing, empty, truncated or corrupt file with a usage error naming it', async () => {
    const dir = freshDir();
    const good = join(dir, 'good.tar.gz');
    await writeTarball({ path: good, members: stage(dir, { 'n.csv': randomBytes(200_000) }), mtime, gzipLevel: 1 });
    const bytes = readFileSync(good);
    const cases: Record<string, Buffer | null> = {
      'missing.tar.gz': null,
      'empty.tar.gz': Buffer.alloc(0),
      'truncated.tar.gz': bytes.subarray(0, bytes.length >> 1),
      'random.tar.gz': randomBytes(4096),
      'text.tar.gz': Buffer.from('hello, not a tarball\n'),
    };
    for (const [name, content] of Object.entries(cases)) {
      const path = join(dir, name);
      if (content !== null) writeFileSync(path, content);
      await assert.rejects(readTarball(path), (err: unknown) => {
        assert.ok(err instanceof AppError, `${name}: ${String(err)}`);
        assert.equal(err.code, 'USAGE');
        assert.ok(err.message.startsWith(`cannot read tarball ${path}: `), err.message);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
    }
  });
});
