/**
 * The example collectors in collectors/postgres, loaded the way the CLI loads them (loadCollectors: hooks make
 * 'analytics-collect' resolve to this checkout, TypeScript needs no build): the folder's collector set, day
 * slicing, and the events collector through copyToCsv.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadCollectors } from '../../src/collect/load.js';
import type { Collector, SliceRequest, SlicingFunction } from '../../src/collect/register.js';
import { PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'collectors', 'postgres');
const d = (iso: string) => new Date(iso);

describe('collectors/postgres', { timeout: 30_000 }, () => {
  let collectors: Collector[];
  let byDay: SlicingFunction;
  before(async () => {
    collectors = (await loadCollectors(DIR)).map((entry) => entry.collector);
    byDay = collectors.find((c) => c.key === 'events')!.slicing!;
  });

  const slices = async (request: Partial<SliceRequest>) => {
    const base: SliceRequest = { key: 'events', since: null, until: d('2026-11-04T06:00:00Z'), lastGather: d('2026-11-02T18:00:00Z'), lastEntry: null, fullSync: false };
    const out: string[] = [];
    for await (const [a, b] of await byDay({ ...base, ...request })) out.push(`${a.toISOString()} ${b.toISOString()}`);
    return out;
  };

  test('the folder loads: one config collector and the csv events collector with slicing', () => {
    assert.deepEqual(
      collectors.map((c) => [c.key, c.format, c.config, c.slicing !== undefined]),
      [['config', 'json', true, false], ['events', 'csv', false, true]],
    );
  });

  test('byDay: from the last gather to until, cut at UTC midnights', async () => {
    assert.deepEqual(await slices({}), [
      '2026-11-02T18:00:00.000Z 2026-11-03T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z 2026-11-04T00:00:00.000Z',
      '2026-11-04T00:00:00.000Z 2026-11-04T06:00:00.000Z',
    ]);
  });

  test("byDay: continues from the key's last entry; --since wins over it", async () => {
    assert.deepEqual(await slices({ lastEntry: d('2026-11-04T00:00:00Z') }), ['2026-11-04T00:00:00.000Z 2026-11-04T06:00:00.000Z']);
    assert.deepEqual(await slices({ lastEntry: d('2026-11-04T00:00:00Z'), since: d('2026-11-03T12:00:00Z') }), [
      '2026-11-03T12:00:00.000Z 2026-11-04T00:00:00.000Z',
      '2026-11-04T00:00:00.000Z 2026-11-04T06:00:00.000Z',
    ]);
  });

  test('byDay: never more than 4 weeks before until; nothing when up to date', async () => {
    const all = await slices({ lastEntry: d('2025-01-01T00:00:00Z') });
    assert.equal(all[0], '2026-10-07T06:00:00.000Z 2026-10-08T00:00:00.000Z');
    assert.equal(all.length, 29);
    assert.deepEqual(await slices({ lastEntry: d('2026-11-04T06:00:00Z') }), []);
  });
});

const skip = await pgSkipReason();

describe('collectors/postgres/events.ts against the server', { skip, timeout: 30_000 }, () => {
  const schema = uniqueName('events');
  let dir: string;
  let events: Collector;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pg-events-'));
    await withPg((client) =>
      client.query(`
        CREATE SCHEMA ${schema};
        CREATE TABLE ${schema}.events (id int PRIMARY KEY, created timestamptz NOT NULL, kind text, payload jsonb);
        INSERT INTO ${schema}.events VALUES
          (1, '2026-11-02T23:59:59.999Z', 'late', '{"n": 1}'),
          (2, '2026-11-03T00:00:00Z', 'midnight', NULL),
          (3, '2026-11-03T10:00:00Z', E'multi\\nline, "quoted"', '{"ü": true}'),
          (4, '2026-11-04T00:00:00Z', 'next day', NULL);`),
    );
    // The search path points the collector's unqualified `events` at our schema; UTC makes the output fixed.
    process.env['ANALYTICS_PG_URL'] = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema} -c TimeZone=UTC`)}`;
    events = (await loadCollectors(DIR)).find((entry) => entry.collector.key === 'events')!.collector;
  });
  after(async () => {
    delete process.env['ANALYTICS_PG_URL'];
    await withPg((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    await rm(dir, { recursive: true, force: true });
  });

  test('one slice exports exactly the rows created in it, as CSV with a header', async () => {
    const outputDir = join(dir, 'slice-1');
    await mkdir(outputDir, { mode: 0o700 });
    const files = (await events.fn({
      since: d('2026-11-03T00:00:00Z'),
      until: d('2026-11-04T00:00:00Z'),
      maxDataSize: 1 << 20,
      outputDir,
      mode: 'dry-run',
      lastGather: d('2026-11-01T00:00:00Z'),
      logger: pino({ enabled: false }),
      signal: new AbortController().signal,
    })) as string[];
    assert.deepEqual(files, [join(outputDir, 'events.csv')]);
    assert.equal(
      await readFile(files[0]!, 'utf8'),
      'id,created,kind,payload\n' +
        '2,2026-11-03 00:00:00+00,midnight,\n' +
        '3,2026-11-03 10:00:00+00,"multi\nline, ""quoted""","{""ü"": true}"\n',
    );
  });
});
