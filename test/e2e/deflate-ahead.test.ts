/**
 * Deflating ahead through the real CLI (issue 16): the files of unsliced CSV collectors from 256 KiB up are
 * compressed while the run goes on — a splitter's files as soon as each is finished, a collector's own files when
 * it returns. Whatever was deflated early, each tarball holds exactly the bytes the collectors returned: a file
 * the collector finished but did not return is not packed, a file it changed after the splitter closed it is packed
 * as it is at the end, and nothing is left in tmpDir.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { cliFixtures } from '../helpers/cli-fixtures.js';
import { cli } from '../helpers/fault-cli.js';
import { readTarball } from '../../src/pack/read-tarball.js';

const fixtures = cliFixtures();

/** Row i of every table: the same text in the collectors and in the test. */
const ROW = (i: number): string => `${i},name ${i},${'x'.repeat(40)}\n`;
const ROWS = 40_000; // ~2.2 MiB: several files of at most maxDataSize
const MAX_DATA_SIZE = 600 * 1024;

const SOURCE = `import { appendFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CsvFileSplitter, register } from 'analytics-collect';

const row = ${ROW.toString()};

/** Rows through the splitter: its files are announced as each is finished. */
export const split = register({ key: 'split', version: '1.0', format: 'csv' }, async (ctx) => {
  const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'split.csv'), maxFileSize: ctx.maxDataSize, columns: ['id', 'name', 'pad'] });
  for (let i = 0; i < ${ROWS}; i++) await out.write([i, 'name ' + i, 'x'.repeat(40)]);
  return out.close();
});

/** Finishes files through the splitter, then drops the first one and changes the last: neither as it was is packed. */
export const changed = register({ key: 'changed', version: '1.0', format: 'csv' }, async (ctx) => {
  const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'changed.csv'), maxFileSize: ctx.maxDataSize, columns: ['id', 'name', 'pad'] });
  for (let i = 0; i < ${ROWS}; i++) await out.write([i, 'name ' + i, 'x'.repeat(40)]);
  const files = await out.close();
  await rm(files[0]);
  await appendFile(files[files.length - 1], row(-1));
  return files.slice(1);
});

/** A file the collector writes itself (deflated ahead once the collector returned). */
export const own = register({ key: 'own', version: '1.0', format: 'csv' }, async (ctx) => {
  const file = join(ctx.outputDir, 'own.csv');
  let text = 'id,name,pad\\n';
  for (let i = 0; i < 8000; i++) text += row(i);
  await writeFile(file, text);
  return file;
});
`;

describe('deflating ahead, through the CLI', () => {
  it('packs exactly what the collectors returned, and leaves nothing in tmpDir', async () => {
    const p = await fixtures.project({ maxDataSize: MAX_DATA_SIZE });
    await p.collector('tables.mjs', SOURCE);
    const run = await cli(['gather', '--json'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { tarballs: { path: string }[]; collections: { key: string; status: string }[] };
    assert.ok(report.collections.every((c) => c.status === 'ok'), JSON.stringify(report.collections));

    const members: Record<string, Buffer[]> = { 'split.csv': [], 'changed.csv': [], 'own.csv': [] };
    for (const { path } of report.tarballs) {
      const tarball = await readTarball(path, { keep: () => true });
      for (const member of tarball.members) {
        if (member.name in members) members[member.name]!.push(await tarball.read(member.name));
      }
    }
    const header = 'id,name,pad\n';
    const bodyOf = (files: Buffer[]): string =>
      files.map((file) => {
        const text = file.toString('utf8');
        assert.ok(text.startsWith(header), 'every file starts with the header');
        assert.ok(file.length <= MAX_DATA_SIZE + ROW(-1).length, `a file of ${file.length} bytes`);
        return text.slice(header.length);
      }).join('');
    const all = Array.from({ length: ROWS }, (_, i) => ROW(i)).join('');

    const split = members['split.csv']!;
    assert.ok(split.length >= 3, `split into ${split.length} files`);
    assert.equal(bodyOf(split), all);

    // The first file is gone, the last one has one more row: the tarballs hold the files as returned.
    const changed = members['changed.csv']!;
    assert.equal(changed.length, split.length - 1);
    const firstFileRows = split[0]!.toString('utf8').slice(header.length);
    assert.equal(bodyOf(changed), all.slice(firstFileRows.length) + ROW(-1));

    assert.equal(bodyOf(members['own.csv']!), Array.from({ length: 8000 }, (_, i) => ROW(i)).join(''));
    assert.deepEqual(await readdir(p.tmp).catch(() => []), [], 'nothing left in tmpDir');
  });
});
