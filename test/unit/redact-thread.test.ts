/**
 * Redaction on the redaction thread (src/redact/off-thread.ts): the same files, bytes and errors as on the main
 * thread; every output file announced.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { redactCollection, RedactionError, type RedactCollectionInput } from '../../src/redact/index.js';
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
