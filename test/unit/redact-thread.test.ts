/**
 * Redaction on the redaction thread (src/redact/off-thread.ts): the same files, bytes and errors as on the main
 * thread; every output file announced, and how much of it is final while it is written, so the run deflates it
 * as it grows (src/run/ahead.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { register } from '../../src/collect/register.js';
import { runCollection } from '../../src/collect/run.js';
import { writeTarball } from '../../src/pack/write-tarball.js';
import { redactCollection, RedactionError, type RedactCollectionInput } from '../../src/redact/index.js';
import { DeflateAhead } from '../../src/run/ahead.js';
import { hmac32, redactConfig } from '../helpers/redact.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'redact-thread-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const RULES = redactConfig({
  events: { drop: ['secret'], hash: ['user', 'host'] },
  '*': { mask: [{ pattern: '\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b', replace: '0.0.0.0' }] },
});

/** Records of every kind the byte path and the text path take: quotes, commas, CRLF, unicode, invalid UTF-8. */
function table(rows: number, seed: number): Buffer {
  const parts: Buffer[] = [Buffer.from('id,user,host,secret,note\n')];
  for (let i = 0; i < rows; i++) {
    const k = (i * 7919 + seed) % 97;
    const note =
      k % 11 === 0 ? `"from 10.0.${k}.1, said ""hi""\r\nbye"` : k % 13 === 0 ? 'é 🙂 192.168.0.1' : k % 17 === 0 ? '' : `t ${i}.${k}`;
    parts.push(Buffer.from(`${i},user${k % 5},"host,${k}",s${i},${note}${k % 3 === 0 ? '\r\n' : '\n'}`));
    if (k === 50) parts.push(Buffer.from([0x39, 0x2c, 0x75, 0x2c, 0x68, 0x2c, 0x78, 0x2c, 0xff, 0xfe, 0x0a])); // not UTF-8
  }
  return Buffer.concat(parts);
}

let n = 0;
async function collection(text: Buffer): Promise<{ dir: string; file: string; size: number }> {
  const dir = await mkdtemp(join(root, 'c-'));
  const file = join(dir, `events${n++}.csv`);
  await writeFile(file, text);
  return { dir, file, size: text.length };
}

/** Redacts, and returns the output files' bytes and what was announced. */
async function redact(files: { file: string; size: number }[], dir: string, more: Partial<RedactCollectionInput>) {
  const announced: string[] = [];
  const result = await redactCollection({
    key: 'events', format: 'csv', files: files.map((f) => ({ name: 'events.csv', ...f })), redact: RULES, maxDataSize: 20_000, outputDir: dir,
    onFileFinished: (file) => announced.push(file), ...more,
  });
  const texts = await Promise.all(result.files.map((f) => readFile(f.file)));
  return { result, texts, announced };
}

describe('redaction on its own thread', () => {
  it('writes the same files, byte for byte, as the main thread, and announces each one', async () => {
    const text = table(3000, 1);
    const a = await collection(text);
    const here = await redact([a], a.dir, { offThreadMinBytes: Number.POSITIVE_INFINITY });
    const b = await collection(text);
    const there = await redact([b], b.dir, { offThreadMinBytes: 0 });
    assert.ok(here.texts.length > 3, 'split into several files');
    assert.deepEqual(there.texts, here.texts);
    assert.deepEqual(there.result.redaction, here.result.redaction);
    assert.deepEqual(there.announced.sort(), there.result.files.map((f) => f.file).sort());
    assert.ok(here.texts[0]!.toString().startsWith(`id,user,host,note\n0,${hmac32('user1')},${hmac32('host,1')},`));
  });

  it('fails with the same one-line reason, and leaves no output behind', async () => {
    const text = Buffer.from('id,host,secret\n1,a,b\n');
    const a = await collection(text);
    const reasons: string[] = [];
    for (const offThreadMinBytes of [Number.POSITIVE_INFINITY, 0]) {
      await assert.rejects(
        redact([a], a.dir, { offThreadMinBytes }),
        (err: unknown) => err instanceof RedactionError && reasons.push(err.message) > 0,
      );
    }
    assert.equal(reasons[1], reasons[0]);
    assert.match(reasons[0]!, /"user" of redact\.rules\.events\.hash is not in the header/);
    const redacted = (await readdir(a.dir)).filter((name) => name.startsWith('.redacted-'));
    for (const name of redacted) assert.deepEqual(await readdir(join(a.dir, name)), []);
  });
});

describe('redacted files deflated while the thread writes them', () => {
  const MTIME = new Date('2026-12-01T00:00:00.000Z');
  const MIB = 1024 * 1024;
  const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

  it('announces the final part of each file as it grows; those bytes never change; the tarball holds the redacted files', async () => {
    const text = table(160_000, 3); // about 6 MiB, out in files of at most 2 MiB
    const c = await collection(text);
    const ahead = new DeflateAhead({ dir: join(c.dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal });
    const early = ahead.collection('events.csv');
    /** In the order they came; for growth, a digest of the announced bytes as they were then. */
    const events: { kind: 'grown' | 'finished'; file: string; size: number; digest?: string }[] = [];
    const { result, texts } = await redact([c], c.dir, {
      offThreadMinBytes: 0,
      maxDataSize: 2 * MIB,
      onFileGrown: (file, size) => {
        events.push({ kind: 'grown', file, size, digest: sha(readFileSync(file).subarray(0, size)) });
        early.grown(file, size);
      },
      onFileFinished: (file, size) => {
        events.push({ kind: 'finished', file, size });
        early.finished(file, size);
      },
    });
    await early.done(result.files.map((f) => ({ ...f, name: 'events.csv' })));
    assert.ok(result.files.length >= 3, `split into several files (${result.files.length})`);

    for (const [i, { file, size }] of result.files.entries()) {
      const mine = events.filter((e) => e.file === file);
      const finishedAt = mine.findIndex((e) => e.kind === 'finished');
      assert.equal(mine[finishedAt]?.size, size, `${basename(file)} is announced finished at its size`);
      const grown = mine.filter((e) => e.kind === 'grown');
      // Every 512 KiB flush: a file of a MiB and more is announced growing at least once before it is finished.
      if (size >= MIB) assert.ok(grown.length >= 1 && mine.indexOf(grown[0]!) < finishedAt, `${basename(file)} grows before it is finished (${grown.length})`);
      let last = 0;
      for (const g of grown) {
        assert.ok(g.size > last && g.size <= size, `${basename(file)} only grows, never past its end`);
        last = g.size;
        assert.equal(sha(texts[i]!.subarray(0, g.size)), g.digest, `${basename(file)}: the ${g.size} bytes announced did not change`);
      }
    }
    const grownFiles = new Set(events.filter((e) => e.kind === 'grown').map((e) => e.file));
    assert.ok(grownFiles.size >= 2, 'several files deflated as they grew');

    // Packed from the segments deflated ahead (one tarball each: they are all `events.csv`): the redacted bytes.
    for (const [i, f] of result.files.entries()) {
      const deflated = await ahead.segmentOf(f.file);
      assert.ok(deflated !== undefined && deflated !== null, `${basename(f.file)} was deflated ahead`);
      if (grownFiles.has(f.file)) assert.ok(deflated.head !== undefined, `${basename(f.file)} was deflated as it grew`);
      const tarball = join(c.dir, `${i}.tar.gz`);
      await writeTarball({ path: tarball, members: [{ name: 'events.csv', file: f.file, deflated }], mtime: MTIME, gzipLevel: 6 });
      execFileSync('gzip', ['-t', tarball]);
      const unpacked = await mkdtemp(join(root, 'x-'));
      execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
      assert.ok((await readFile(join(unpacked, 'events.csv'))).equals(texts[i]!), `${basename(f.file)}: the tarball holds it as redacted`);
    }
    await ahead.drain();
  });

  it('keeps nothing deflated of a collection whose redaction failed after its files grew', async () => {
    // Valid for 4 MiB, then a record with a field too many: the collection fails, its files are removed.
    const text = Buffer.concat([table(100_000, 5), Buffer.from('1,u,h,s,n,extra\n')]);
    const c = await collection(text);
    const ahead = new DeflateAhead({ dir: join(c.dir, 'ahead'), gzipLevel: 6, mtime: MTIME, signal: new AbortController().signal });
    const early = ahead.collection('events.csv');
    let grown = 0;
    await assert.rejects(
      redact([c], c.dir, {
        offThreadMinBytes: 0,
        maxDataSize: 100 * MIB,
        onFileGrown: (file, size) => {
          grown++;
          early.grown(file, size);
        },
        onFileFinished: early.finished,
      }),
      (err: unknown) => err instanceof RedactionError && /6 fields where the header has 5/.test(err.message),
    );
    await early.done([]);
    assert.ok(grown >= 2, `the file grew before the failure (${grown})`);
    await ahead.drain();
    assert.deepEqual(await readdir(join(c.dir, 'ahead')).catch(() => []), [], 'no deflated segment is left');
  });
});

describe('a collection with redaction rules', () => {
  it('tells the run how much of each redacted file is final, not of the collector\'s own', async () => {
    const workDir = await mkdtemp(join(root, 'run-'));
    const events: { kind: 'grown' | 'finished'; file: string }[] = [];
    const collector = register({ key: 'events', version: '1.0', format: 'csv' }, async (ctx) => {
      const file = join(ctx.outputDir, 'events.csv');
      await writeFile(file, table(80_000, 7)); // about 3 MiB
      return file;
    });
    const { outcome } = await runCollection({
      collector, since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-11-02T00:00:00Z'), lastGather: new Date('2026-11-01T00:00:00Z'),
      maxDataSize: 100 * 1024 * 1024, mode: 'dry-run', workDir, timeoutMs: 60_000, logger: pino({ level: 'silent' }), signal: new AbortController().signal,
      redact: RULES,
      onFileGrown: (file) => events.push({ kind: 'grown', file }),
      onFileFinished: (file) => events.push({ kind: 'finished', file }),
    });
    assert.equal(outcome.status, 'ok');
    const files = outcome.status === 'ok' ? outcome.files.map((f) => f.file) : [];
    assert.equal(files.length, 1);
    assert.ok(events.filter((e) => e.kind === 'grown').length >= 2, 'growth announced while the file was redacted');
    for (const e of events) assert.ok(files.includes(e.file), `${e.kind} ${basename(e.file)} is a redacted file`);
    assert.equal(events.at(-1)?.kind, 'finished');
  });
});
