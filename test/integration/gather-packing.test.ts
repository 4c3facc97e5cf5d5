import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { csvCollectorSource, runGather, unpack, workspace, type Workspace } from '../helpers/gather.js';

const HEADER = `import { register } from 'analytics-collect';\n`;
const CONFIG = `export const config = register({ key: 'config', version: '1.0', config: true }, async () => ({ version: '1.0' }));\n`;
const trivialSlicing = `, slicing: ({ since, until, lastGather }) => [[since ?? lastGather, until]]`;
const COMMON = ['./config.json', './data_collection_status.csv', './manifest.json'];

/** A workspace removed after the test, holding one module `name`: the config collector, then `body`. */
async function moduleWorkspace(t: TestContext, body: string, name = 'm.ts'): Promise<Workspace> {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  await ws.write(name, HEADER + CONFIG + body);
  return ws;
}

test("reproduces the reference library's 13-tarball distribution", async (t) => {
  // The reference module: JSON first, unsliced CSVs from tarball 0, sliced CSVs after the previous slice.
  const ws = await moduleWorkspace(
    t,
    `export const simple_json1 = register({ key: 'simple_json1', version: '1.0' }, async () => ({ simple_json: 'True' }));\n` +
      csvCollectorSource('csv_no_slicing1', 'csv_no_slicing_1-2x', 2, 100) +
      csvCollectorSource('csv_with_slicing1a', 'csv_with_slicing_1-5x', 2, 100, trivialSlicing) +
      csvCollectorSource('csv_with_slicing1b', 'csv_with_slicing_1-5x', 3, 100, trivialSlicing) +
      csvCollectorSource('csv_no_slicing2', 'csv_no_slicing_2-1x', 1, 100) +
      csvCollectorSource('csv_with_slicing2a', 'csv_with_slicing_2-3x', 2, 100, trivialSlicing) +
      csvCollectorSource('csv_no_slicing3', 'csv_no_slicing_3-10x', 10, 100) +
      csvCollectorSource('csv_with_slicing3', 'csv_with_slicing_3-2x', 2, 100, trivialSlicing) +
      csvCollectorSource('csv_no_slicing4', 'csv_no_slicing_4-12x', 12, 100) +
      csvCollectorSource('csv_with_slicing2b', 'csv_with_slicing_2-3x', 1, 100, trivialSlicing) +
      csvCollectorSource('csv_with_slicing4', 'csv_with_slicing_4-3x', 3, 100, trivialSlicing),
    'module3.ts',
  );
  const report = await runGather(ws);
  assert.equal(report.tarballs.length, 13);
  const expect: [string, number, number][] = [
    ['simple_json1.json', 0, 0],
    ['csv_no_slicing_1-2x.csv', 0, 1],
    ['csv_no_slicing_2-1x.csv', 0, 0],
    ['csv_no_slicing_3-10x.csv', 0, 9],
    ['csv_no_slicing_4-12x.csv', 0, 11],
    ['csv_with_slicing_1-5x.csv', 0, 4],
    ['csv_with_slicing_2-3x.csv', 5, 7],
    ['csv_with_slicing_3-2x.csv', 8, 9],
    ['csv_with_slicing_4-3x.csv', 10, 12],
  ];
  for (const [i, tarball] of report.tarballs.entries()) {
    const { entries } = await unpack(tarball.path);
    assert.deepEqual(entries.slice(-3), COMMON, `tarball ${i} ends with the fixed members`);
    for (const [member, from, to] of expect) {
      assert.equal(entries.includes(`./${member}`), i >= from && i <= to, `tarball ${i} and ${member}`);
    }
  }
});

test('one csv collector returning 10 files at a 1000-byte limit gives 10 tarballs', async (t) => {
  const ws = await moduleWorkspace(t, csvCollectorSource('bigTable', 'big_table', 10, 1000), 'a.ts');
  const report = await runGather(ws, { config: ws.config({ maxDataSize: 1000 }) });
  assert.equal(report.tarballs.length, 10);
  for (const tarball of report.tarballs) {
    const { entries, files } = await unpack(tarball.path);
    assert.deepEqual(entries, ['./big_table.csv', ...COMMON]);
    assert.equal(files['big_table.csv']!.length, 1000);
  }
});

test('3×800 + 100 + 200 bytes at 1000 gives [800+100], [800+200], [800]', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  await ws.write(
    'a.ts',
    HEADER + CONFIG + csvCollectorSource('a_big', 'big_table_2', 3, 800) + csvCollectorSource('b_one', 'csv_collection_1', 1, 100) + csvCollectorSource('c_two', 'csv_collection_2', 1, 200),
  );
  const report = await runGather(ws, { config: ws.config({ maxDataSize: 1000 }) });
  const layout = await Promise.all(report.tarballs.map(async (t) => (await unpack(t.path)).entries.slice(0, -3)));
  assert.deepEqual(layout, [
    ['./big_table_2.csv', './csv_collection_1.csv'],
    ['./big_table_2.csv', './csv_collection_2.csv'],
    ['./big_table_2.csv'],
  ]);
});

test('members, manifest and status rows are exact', async (t) => {
  const ws = await moduleWorkspace(
    t,
    [1, 2, 3].map((n) => `export const json${n} = register({ key: 'json${n}', version: '1.${n}' }, async () => ({ json${n}: 'True', n: ${n} }));\n`).join(''),
  );
  const report = await runGather(ws);
  assert.equal(report.tarballs.length, 1);
  const tarball = report.tarballs[0]!;
  assert.match(tarball.path, /analytics-2026-11-28-013306\+0000-0\.tar\.gz$/);
  const { entries, files } = await unpack(tarball.path);
  assert.deepEqual(entries, ['./json1.json', './json2.json', './json3.json', ...COMMON]);
  assert.deepEqual(tarball.members, entries.map((e) => e.slice(2)));
  assert.equal(files['json2.json']!.toString(), JSON.stringify({ json2: 'True', n: 2 }));
  assert.deepEqual(JSON.parse(files['manifest.json']!.toString()), {
    'json1.json': '1.1',
    'json2.json': '1.2',
    'json3.json': '1.3',
    'config.json': '1.0',
    'data_collection_status.csv': '1.0',
  });
  const lines = files['data_collection_status.csv']!.toString().split('\n');
  assert.equal(lines[0], 'collection_start_timestamp,since,until,file_name,status,elapsed');
  assert.equal(lines.at(-1), '', 'ends with LF');
  assert.ok(!files['data_collection_status.csv']!.includes('\r'));
  const rows = lines.slice(1, -1).map((l) => l.split(','));
  assert.deepEqual(rows.map((r) => [r[3], r[4], r[5]]), [['json1.json', 'ok', '0'], ['json2.json', 'ok', '0'], ['json3.json', 'ok', '0']]);
  for (const r of rows) {
    assert.match(r[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(r[1], '2026-10-31T01:33:06.000Z', 'since = until - 4 weeks with no state');
    assert.equal(r[2], '2026-11-28T01:33:06.000Z');
  }
  const info = await stat(tarball.path);
  assert.equal(info.mode & 0o777, 0o600);
  assert.equal((await stat(ws.output)).mode & 0o777, 0o700);
});

test('a failing and an empty collector get status rows; the rest is packed; report says failed', async (t) => {
  const ws = await moduleWorkspace(
    t,
    `export const a = register({ key: 'a', version: '1' }, async () => ({ a: 1 }));\n` +
      `export const b = register({ key: 'b', version: '1' }, async () => { throw new Error('database is down'); });\n` +
      `export const c = register({ key: 'c', version: '1' }, async () => null);\n` +
      `export const d = register({ key: 'd', version: '1' }, async () => { const x: any = {}; x.x = x; return x; });\n`,
  );
  const report = await runGather(ws);
  assert.equal(report.failed, true);
  assert.deepEqual(report.collections.map((c) => [c.key, c.status]), [['a', 'ok'], ['b', 'failed'], ['c', 'empty'], ['d', 'failed']]);
  assert.match(report.collections[1]!.error!, /database is down/);
  assert.match(report.collections[3]!.error!, /JSON-serialisable/);
  assert.equal(report.tarballs.length, 1);
  const { entries, files } = await unpack(report.tarballs[0]!.path);
  assert.deepEqual(entries, ['./a.json', ...COMMON]);
  const rows = files['data_collection_status.csv']!.toString().trim().split('\n').slice(1).map((l) => l.split(','));
  assert.deepEqual(rows.map((r) => [r[3], r[4]]), [['a.json', 'ok'], ['b.json', 'failed'], ['c.json', 'empty'], ['d.json', 'failed']]);
});

test('with nothing placed, failed rows get a tarball holding only the fixed members', async (t) => {
  const ws = await moduleWorkspace(t, `export const b = register({ key: 'b', version: '1' }, async () => { throw new Error('no'); });\n`);
  const report = await runGather(ws);
  assert.equal(report.tarballs.length, 1);
  const { entries } = await unpack(report.tarballs[0]!.path);
  assert.deepEqual(entries, COMMON);
});

test('shipping groups never share a tarball', async (t) => {
  const ws = await moduleWorkspace(
    t,
    `export const a = register({ key: 'a', version: '1' }, async () => ({ a: 1 }));\n` +
      `export const b = register({ key: 'b', version: '1', shippingGroup: 'billing' }, async () => ({ b: 1 }));\n` +
      `export const c = register({ key: 'c', version: '1' }, async () => ({ c: 1 }));\n`,
  );
  const report = await runGather(ws);
  const layout = await Promise.all(report.tarballs.map(async (t) => (await unpack(t.path)).entries.slice(0, -3)));
  assert.deepEqual(layout, [['./a.json', './c.json'], ['./b.json']]);
});

test('the config collector failing writes no tarball at all', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  await ws.write(
    'm.ts',
    HEADER +
      `export const config = register({ key: 'config', version: '1.0', config: true }, async () => undefined);\n` +
      `export const a = register({ key: 'a', version: '1' }, async () => ({ a: 1 }));\n`,
  );
  const report = await runGather(ws);
  assert.equal(report.failed, true);
  assert.match(report.configError!, /nothing/);
  assert.deepEqual(report.tarballs, []);
  assert.deepEqual(await readdir(ws.output), []);
});

test('tarball numbers skip names already taken; nothing is overwritten; no temporary files are left', async (t) => {
  const ws = await moduleWorkspace(t, csvCollectorSource('big', 'big', 3, 100));
  const { mkdir } = await import('node:fs/promises');
  await mkdir(ws.output, { recursive: true });
  await writeFile(join(ws.output, 'analytics-2026-11-28-013306+0000-1.tar.gz'), 'not ours');
  const report = await runGather(ws);
  assert.deepEqual(
    report.tarballs.map((t) => t.path.split('/').at(-1)),
    ['analytics-2026-11-28-013306+0000-0.tar.gz', 'analytics-2026-11-28-013306+0000-2.tar.gz', 'analytics-2026-11-28-013306+0000-3.tar.gz'],
  );
  assert.equal((await import('node:fs')).readFileSync(join(ws.output, 'analytics-2026-11-28-013306+0000-1.tar.gz'), 'utf8'), 'not ours');
  assert.deepEqual(await readdir(ws.tmp), [], 'the run directory under tmpDir is removed');
  assert.ok((await readdir(ws.output)).every((n) => !n.endsWith('.partial')));
});

test('a sliced collector gets each slice in order and its slice tarballs close right away', async (t) => {
  const ws = await moduleWorkspace(
    t,
    `export const a = register({ key: 'a', version: '1' }, async () => ({ a: 1 }));\n` +
      `const day = 86400000;
export const daily = register({ key: 'daily', version: '1', format: 'csv',
  slicing: function* ({ until }) { for (let i = 3; i > 0; i--) yield [new Date(until.getTime() - i * day), new Date(until.getTime() - (i - 1) * day)]; } },
  async (ctx) => { const { writeFile } = await import('node:fs/promises'); const f = ctx.outputDir + '/d.csv';
    await writeFile(f, 'since,until\\n' + ctx.since.toISOString() + ',' + ctx.until.toISOString() + '\\n'); return f; });\n`,
  );
  const report = await runGather(ws);
  assert.deepEqual(report.collections.map((c) => c.key), ['a', 'daily', 'daily', 'daily']);
  assert.equal(report.tarballs.length, 3);
  const first = await unpack(report.tarballs[0]!.path);
  assert.deepEqual(first.entries.slice(0, -3), ['./a.json', './daily.csv']);
  const sinces = await Promise.all(report.tarballs.map(async (t) => (await unpack(t.path)).files['daily.csv']!.toString().split('\n')[1]!.split(',')[0]));
  assert.deepEqual(sinces, ['2026-11-25T01:33:06.000Z', '2026-11-26T01:33:06.000Z', '2026-11-27T01:33:06.000Z']);
});
