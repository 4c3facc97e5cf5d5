/**
 * Collector faults (contract §2): a collector that throws, rejects late, returns what it may not, points
 * outside its outputDir or never finishes is recorded as failed — with a one-line reason naming the problem —
 * while the run goes on with the others, writes their tarballs and leaves no temporary file behind.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LoadedCollector } from '../../src/collect/load.js';
import type { CollectorContext, CollectorFunction } from '../../src/collect/register.js';
import { listTree } from '../helpers/fault-cli.js';
import { configCollector, loaded, runGather, sandbox, viewTarball, type Sandbox } from '../helpers/fault-gather.js';

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(() => box.cleanup());

/** A healthy collector of each format, to show the run goes on. */
const goodJson = (): LoadedCollector => loaded({ key: 'good', version: '2.0' }, () => ({ fine: true }));
const goodCsv = (): LoadedCollector =>
  loaded({ key: 'goodcsv', version: '2.0', format: 'csv' }, async (ctx) => {
    const file = join(ctx.outputDir, 'good.csv');
    await writeFile(file, 'id\n1\n');
    return file;
  });

/**
 * Runs `faulty` between healthy collectors; checks it failed with `error`, that the others were packed, that
 * its failure is a `failed` row of a status file, and that tmpDir is empty afterwards.
 */
async function assertFailsAlone(faulty: LoadedCollector, error: RegExp, config = {}): Promise<void> {
  const { report } = await runGather(box, [configCollector(), goodJson(), faulty, goodCsv()], { config: box.config(config) });
  const { key, format } = faulty.collector;
  const mine = report.collections.filter((c) => c.key === key);
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.status, 'failed');
  assert.match(mine[0]!.error ?? '', error);
  assert.doesNotMatch(mine[0]!.error ?? '', /\n/, 'the reason is one line');
  assert.equal(report.failed, true, 'a failed collector fails the run (exit 1)');
  assert.deepEqual(
    report.collections.filter((c) => c.key !== key).map((c) => [c.key, c.status]),
    [
      ['good', 'ok'],
      ['goodcsv', 'ok'],
    ],
  );
  const members: string[] = [];
  const rows: { file_name: string; status: string }[] = [];
  for (const t of report.tarballs) {
    const view = await viewTarball(t.path);
    members.push(...view.names);
    rows.push(...(await view.statusRows()));
  }
  assert.ok(members.includes('good.json') && members.includes('goodcsv.csv'), `members: ${members.join(', ')}`);
  assert.ok(!members.some((m) => m.startsWith(`${key}.`)), 'nothing of the failed collector is packed');
  assert.deepEqual(
    rows.filter((r) => r.file_name === `${key}.${format}`).map((r) => r.status),
    ['failed'],
  );
  assert.deepEqual(await listTree(box.tmp), [], 'no temporary file is left');
}

describe('collectors that fail', () => {
  it('throws synchronously', async () => {
    await assertFailsAlone(
      loaded({ key: 'sync', version: '1' }, () => {
        throw new Error('sync boom');
      }),
      /sync boom/,
    );
  });

  it('rejects late, after other work has gone on', async () => {
    await assertFailsAlone(
      loaded({ key: 'late', version: '1' }, async () => {
        for (let i = 0; i < 20; i++) await tick();
        throw new Error('late boom');
      }),
      /late boom/,
    );
  });

  it('throws something that is not an Error', async () => {
    await assertFailsAlone(
      loaded({ key: 'odd', version: '1' }, () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
        throw 'a bare string';
      }),
      /a bare string/,
    );
  });

  it('returns a value with a cycle', async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await assertFailsAlone(loaded({ key: 'cycle', version: '1' }, () => cyclic), /not JSON-serialisable.*circular/i);
  });

  it('returns a BigInt', async () => {
    await assertFailsAlone(loaded({ key: 'big', version: '1' }, () => ({ n: 10n })), /not JSON-serialisable.*BigInt/i);
  });

  it('returns a function (JSON.stringify gives undefined)', async () => {
    await assertFailsAlone(loaded({ key: 'fn', version: '1' }, () => () => 1), /not JSON-serialisable/);
  });

  it('a json collector whose toJSON throws', async () => {
    await assertFailsAlone(
      loaded({ key: 'tojson', version: '1' }, () => ({
        toJSON() {
          throw new Error('toJSON boom');
        },
      })),
      /toJSON boom/,
    );
  });

  const csv = (key: string, fn: CollectorFunction): LoadedCollector => loaded({ key, version: '1', format: 'csv' }, fn);

  it('a csv collector returns a path that does not exist', async () => {
    await assertFailsAlone(
      csv('missing', (ctx) => join(ctx.outputDir, 'never-written.csv')),
      /never-written\.csv, which does not exist/,
    );
  });

  it('a csv collector returns a directory', async () => {
    await assertFailsAlone(
      csv('dir', async (ctx) => {
        const sub = join(ctx.outputDir, 'sub');
        await mkdir(sub);
        return sub;
      }),
      /sub, which is not a regular file/,
    );
  });

  it('a csv collector returns its outputDir itself', async () => {
    await assertFailsAlone(
      csv('itself', (ctx) => ctx.outputDir),
      /outside its outputDir|not a regular file/,
    );
  });

  it('a csv collector returns a file outside its outputDir (absolute path)', async () => {
    const outside = join(box.dir, 'outside.csv');
    await writeFile(outside, 'id\n1\n');
    await assertFailsAlone(csv('abs', () => outside), /outside\.csv, which is outside its outputDir/);
  });

  it('a csv collector returns a path that climbs out with ..', async () => {
    await assertFailsAlone(
      csv('dots', async (ctx) => {
        const escaped = join(ctx.outputDir, '..', 'escaped.csv');
        await writeFile(escaped, 'id\n1\n');
        return `${ctx.outputDir}/../escaped.csv`;
      }),
      /escaped\.csv, which is outside its outputDir/,
    );
  });

  it('a csv collector returns a relative path that climbs out', async () => {
    const outside = join(box.dir, 'rel.csv');
    await writeFile(outside, 'id\n1\n');
    await assertFailsAlone(
      csv('rel', () => '../../../rel.csv'),
      /rel\.csv, which (is outside its outputDir|does not exist)/,
    );
  });

  it('a csv collector returns a symlink inside its outputDir that points outside', async () => {
    const outside = join(box.dir, 'secret.csv');
    await writeFile(outside, 'id\nsecret\n');
    await assertFailsAlone(
      csv('link', async (ctx) => {
        const link = join(ctx.outputDir, 'innocent.csv');
        await symlink(outside, link);
        return link;
      }),
      /innocent\.csv, which is outside its outputDir/,
    );
  });

  it('a csv collector returns something that is not a path', async () => {
    await assertFailsAlone(csv('num', () => 42), /must return a path or an array of paths/);
    await box.cleanup();
    box = await sandbox();
    await assertFailsAlone(csv('arr', () => ['ok', 7]), /returned 7 where a CSV file path was expected|does not exist/);
  });

  it('never finishes: after collectorTimeoutMs it is failed, its signal aborted, and the run does not wait for it', async () => {
    let seen: CollectorContext | undefined;
    const stuck = loaded({ key: 'stuck', version: '1' }, (ctx) => {
      seen = ctx;
      return new Promise(() => {}); // ignores its signal: never settles
    });
    await assertFailsAlone(stuck, /timed out after 100 ms \(collectorTimeoutMs\)/, { collectorTimeoutMs: 100 });
    assert.ok(seen, 'the collector was called');
    assert.equal(seen.signal.aborted, true, 'its ctx.signal is aborted');
    assert.match(String((seen.signal.reason as Error).message), /timed out/);
  });

  it('times out, then answers late: the late output is ignored', async () => {
    let answered = false;
    const slow = loaded({ key: 'slow', version: '1' }, (ctx) =>
      new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          answered = true;
          resolve({ late: 'should never be packed' });
        });
      }),
    );
    const slowCsv = loaded({ key: 'slowcsv', version: '1', format: 'csv' }, (ctx) =>
      new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          const file = join(ctx.outputDir, 'late.csv');
          void writeFile(file, 'id\nlate\n').then(() => resolve(file), () => resolve(file));
        });
      }),
    );
    await assertFailsAlone(slow, /timed out after 100 ms/, { collectorTimeoutMs: 100 });
    assert.equal(answered, true);
    await box.cleanup();
    box = await sandbox();
    await assertFailsAlone(slowCsv, /timed out after 100 ms/, { collectorTimeoutMs: 100 });
  });

  it('a slicing function that throws fails that collector only', async () => {
    const sliced = loaded(
      {
        key: 'badslices',
        version: '1',
        slicing: function* () {
          yield [new Date('2026-11-26T00:00:00Z'), new Date('2026-11-27T00:00:00Z')] as const;
          throw new Error('slicer boom');
        },
      },
      () => ({ slice: true }),
    );
    const { report } = await runGather(box, [configCollector(), goodJson(), sliced]);
    const mine = report.collections.filter((c) => c.key === 'badslices');
    assert.deepEqual(
      mine.map((c) => c.status),
      ['ok', 'failed'],
      'the slice gathered before the throw stays ok; the collector is failed',
    );
    assert.match(mine[1]!.error ?? '', /slicer boom/);
    assert.equal(report.failed, true);
    assert.deepEqual(await listTree(box.tmp), []);
  });

  it('a slicing function that yields a backwards slice fails that collector', async () => {
    const sliced = loaded(
      { key: 'backwards', version: '1', slicing: () => [[new Date('2026-11-27T00:00:00Z'), new Date('2026-11-26T00:00:00Z')] as const] },
      () => ({ slice: true }),
    );
    const { report } = await runGather(box, [configCollector(), goodJson(), sliced]);
    const mine = report.collections.filter((c) => c.key === 'backwards');
    assert.deepEqual(
      mine.map((c) => c.status),
      ['failed'],
    );
    assert.equal(report.collections.find((c) => c.key === 'good')?.status, 'ok');
  });
});
