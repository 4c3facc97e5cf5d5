/**
 * Running out of disk space, on a real small file system (a 2 MiB tmpfs; skipped with the reason when it
 * cannot be mounted): while a collector writes CSV into tmpDir, while a tarball is written into the output
 * directory, while the state is written. Each is a clear error for that collector, tarball or state file —
 * exit 1, not a crash — and leaves no partial file.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { cli, listTree, type Project } from '../helpers/fault-cli.js';
import { jsonSource, randomCsvSource } from '../helpers/fault-collectors.js';
import { mountSmallFs, type SmallFs } from '../helpers/fault-disk.js';
import { readTarball } from '../../src/pack/read-tarball.js';
import { cliFixtures } from '../helpers/cli-fixtures.js';

const SMALL = 2 * 1024 * 1024;
const fixtures = cliFixtures({ ingress: true });

/** A project whose `small/` directory is a 2 MiB tmpfs; null (test skipped) when that is impossible. */
async function projectWithSmallFs(t: TestContext, config: Record<string, unknown>): Promise<{ p: Project; fs: SmallFs } | null> {
  const p = await fixtures.project({ maxDataSize: 100_000_000, gzipLevel: 1, ...config });
  const fs = await mountSmallFs(join(p.dir, 'small'), SMALL);
  if ('skip' in fs) {
    t.skip(fs.skip);
    return null;
  }
  return { p, fs };
}

/** A csv collector that writes rows with CsvFileSplitter until `rows` are written (more than the disk holds). */
const splitterSource = (key: string, rows: number): string => `import { register, CsvFileSplitter } from 'analytics-collect';
import { join } from 'node:path';
export const c = register({ key: ${JSON.stringify(key)}, version: '1.0', format: 'csv' }, async (ctx) => {
  const out = new CsvFileSplitter({ path: join(ctx.outputDir, ${JSON.stringify(`${key}.csv`)}), maxFileSize: ctx.maxDataSize, columns: ['id', 'pad'] });
  for (let i = 0; i < ${rows}; i++) await out.write([i, 'x'.repeat(100)]);
  return out.close();
});
`;

/** A csv collector that writes one file with plain fs.writeFile (leaving what it wrote when the disk fills). */
const rawWriterSource = (key: string, bytes: number): string => `import { register } from 'analytics-collect';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
export const c = register({ key: ${JSON.stringify(key)}, version: '1.0', format: 'csv' }, async (ctx) => {
  const file = join(ctx.outputDir, 'raw.csv');
  await writeFile(file, 'x'.repeat(${bytes}));
  return file;
});
`;

const tarballsIn = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.tar.gz'));

describe('disk full', { concurrency: 2 }, () => {
  it('while a collector writes CSV (CsvFileSplitter) into tmpDir: that collector fails, the others are packed, exit 1', async (t) => {
    const setup = await projectWithSmallFs(t, { tmpDir: './small/tmp' });
    if (!setup) return;
    const { p, fs } = setup;
    try {
      await p.collector('a.mjs', jsonSource('a', { x: 1 }));
      await p.collector('b.mjs', splitterSource('fill', 40_000)); // ~4 MiB
      await p.collector('c.mjs', randomCsvSource('small', 1, 1000));
      const run = await cli(['gather', '--json'], { cwd: p.dir });
      assert.equal(run.code, 1, run.stderr);
      const report = JSON.parse(run.stdout) as { collections: { key: string; status: string; error: string | null }[]; tarballs: { members: string[] }[] };
      const fill = report.collections.find((c) => c.key === 'fill')!;
      assert.equal(fill.status, 'failed');
      assert.match(fill.error ?? '', /ENOSPC/);
      assert.match(fill.error ?? '', /fill\.csv/, 'the error names the file being written');
      assert.deepEqual(
        report.collections.filter((c) => c.key !== 'fill').map((c) => c.status),
        ['ok', 'ok'],
      );
      assert.deepEqual(report.tarballs.flatMap((tb) => tb.members).filter((m) => !m.startsWith('config') && !m.startsWith('data_') && !m.startsWith('manifest')), ['a.json', 'small.csv']);
      assert.deepEqual(await listTree(join(p.dir, 'small', 'tmp')), [], 'no partial CSV is left in tmpDir');
    } finally {
      await fs.unmount();
    }
  });

  it(
    'a collector that fills tmpDir with plain writes and fails does not make the collectors after it fail',
    async (t) => {
      // One collection at a time: "after it" means after (with concurrency, `small` could run while `fill` fills
      // the disk, and fail for a reason this test is not about).
      const setup = await projectWithSmallFs(t, { tmpDir: './small/tmp', concurrency: 1 });
      if (!setup) return;
      const { p, fs } = setup;
      try {
        await p.collector('b.mjs', rawWriterSource('fill', 3_000_000));
        await p.collector('c.mjs', randomCsvSource('small', 1, 1000));
        const run = await cli(['gather', '--json'], { cwd: p.dir });
        assert.equal(run.code, 1, run.stderr);
        const report = JSON.parse(run.stdout) as { collections: { key: string; status: string; error: string | null }[] };
        assert.match(report.collections.find((c) => c.key === 'fill')?.error ?? '', /ENOSPC/);
        assert.equal(report.collections.find((c) => c.key === 'small')?.status, 'ok', run.stderr);
        assert.equal((await tarballsIn(p.output)).length, 1, 'the tarball with small.csv is written');
        assert.deepEqual(await listTree(join(p.dir, 'small', 'tmp')), []);
      } finally {
        await fs.unmount();
      }
    },
  );

  it('while a tarball is written into the output directory: that tarball fails, no partial file, exit 1', async (t) => {
    const setup = await projectWithSmallFs(t, { output: './small/out' });
    if (!setup) return;
    const { p, fs } = setup;
    try {
      await p.collector('a.mjs', jsonSource('a', { x: 1 }, { group: 'other' }));
      await p.collector('c.mjs', randomCsvSource('huge', 1, 6_000_000)); // ~3 MiB compressed
      const run = await cli(['gather', '--json'], { cwd: p.dir });
      assert.equal(run.code, 1, run.stderr);
      const report = JSON.parse(run.stdout) as { tarballs: { path: string; members: string[]; error: string | null }[] };
      // Tarballs are written in parallel: while the big one fills the disk, the small one may fail too.
      const failed = report.tarballs.filter((tb) => tb.error !== null);
      assert.ok(failed.some((tb) => /cannot write tarball .*-1\.tar\.gz: ENOSPC/.test(tb.error!)), JSON.stringify(report.tarballs));
      for (const tb of failed) assert.match(tb.error!, /cannot write tarball \S+\.tar\.gz: ENOSPC/, 'each failure names its tarball');
      const written = report.tarballs.filter((tb) => tb.error === null).map((tb) => tb.path.split('/').at(-1)!);
      const out = join(p.dir, 'small', 'out');
      assert.deepEqual(await listTree(out), written.sort(), 'only complete tarballs are there, no partial file');
      for (const name of written) await readTarball(join(out, name)); // each one whole
      assert.deepEqual(await listTree(p.tmp), []);
    } finally {
      await fs.unmount();
    }
  });

  it(
    'the report of a tarball that could not be written names the data it would have held',
    async (t) => {
      const setup = await projectWithSmallFs(t, { output: './small/out' });
      if (!setup) return;
      const { p, fs } = setup;
      try {
        await p.collector('c.mjs', randomCsvSource('huge', 1, 6_000_000));
        const run = await cli(['gather', '--json'], { cwd: p.dir });
        const report = JSON.parse(run.stdout) as { tarballs: { members: string[]; error: string | null }[] };
        assert.ok(report.tarballs[0]!.members.includes('huge.csv'), JSON.stringify(report.tarballs));
      } finally {
        await fs.unmount();
      }
    },
  );

  it('while the state is written: exit 1 naming the state file, the old state intact, no temporary file', async (t) => {
    const setup = await projectWithSmallFs(t, { stateFile: './small/state/state.json' });
    if (!setup) return;
    const { p, fs } = setup;
    try {
      await p.configure({ stateFile: './small/state/state.json', ship: { url: fixtures.shared.url, contentType: 'application/vnd.redhat.tower.tower_payload+tgz', retries: 0 } });
      const stateFile = join(p.dir, 'small', 'state', 'state.json');
      const old = `${JSON.stringify({ version: 1, lastGather: null, entries: {} }, null, 2)}\n`;
      const { mkdir, writeFile } = await import('node:fs/promises');
      await mkdir(join(p.dir, 'small', 'state'), { mode: 0o700 });
      await writeFile(stateFile, old, { mode: 0o600 });
      // The collector fills the state's file system after the lock is taken, before the state is written.
      await p.collector('fill.mjs', `import { register } from 'analytics-collect';
import { writeFile } from 'node:fs/promises';
export const c = register({ key: 'fill', version: '1.0' }, async () => {
  await writeFile(${JSON.stringify(join(p.dir, 'small', 'filler'))}, 'x'.repeat(${SMALL * 2})).catch(() => undefined);
  return { filled: true };
});
`);
      const run = await cli(['gather', '--ship'], { cwd: p.dir });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`state file ${stateFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} could not be written \\(ENOSPC`));
      assert.equal(await readFile(stateFile, 'utf8'), old, 'the old state is intact');
      assert.deepEqual(await readdir(join(p.dir, 'small', 'state')), ['state.json'], 'no temporary state file, no lock left');
    } finally {
      await fs.unmount();
    }
  });
});
