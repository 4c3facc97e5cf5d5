import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createShipper } from '../../src/ship/index.js';
import { makeShipConfig, startIngress, type TestIngress } from '../helpers/ingress.js';
import { memoryStore, runGather, silentLogger, unpack, workspace, type Workspace } from '../helpers/gather.js';
import type { State } from '../../src/types.js';

const HEADER = `import { register } from 'analytics-collect';\n`;
const CONFIG = `export const config = register({ key: 'config', version: '1.0', config: true }, async () => ({ v: 1 }));\n`;
// Three daily slices ending at until; each writes one small CSV naming its window.
const DAILY = `const day = 86400000;
export const daily = register({ key: 'daily', version: '1', format: 'csv',
  slicing: function* ({ until }) { for (let i = 3; i > 0; i--) yield [new Date(until.getTime() - i * day), new Date(until.getTime() - (i - 1) * day)]; } },
  async (ctx) => { const { writeFile } = await import('node:fs/promises'); const f = ctx.outputDir + '/d.csv';
    await writeFile(f, 'since\\n' + ctx.since.toISOString() + '\\n'); return f; });\n`;
const UNTIL = '2026-11-28T01:33:06.000Z';

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<{ ws: Workspace; ingress: TestIngress }> {
  const ws = await workspace();
  const ingress = await startIngress();
  t.after(async () => {
    await ingress.close();
    await ws.cleanup();
  });
  await ws.write('m.ts', HEADER + CONFIG + `export const hosts = register({ key: 'hosts', version: '1' }, async () => ({ n: 3 }));\n` + DAILY);
  return { ws, ingress };
}

async function ship(ws: Workspace, ingress: TestIngress, store = memoryStore(), keep = false) {
  const config = ws.config({ ship: makeShipConfig({ url: ingress.url, retries: 0 }) });
  const shipper = await createShipper({ config: config.ship, version: '0.0.0-test', logger: silentLogger });
  const report = await runGather(ws, { config, mode: 'ship', shipper, store, keep });
  return { report, store };
}

test('ship: every tarball uploaded as multipart, deleted, and the state advanced', async (t) => {
  const { ws, ingress } = await setup(t);
  const { report, store } = await ship(ws, ingress);
  assert.equal(report.failed, false);
  assert.equal(ingress.requests.length, 3);
  for (const [i, request] of ingress.requests.entries()) {
    assert.equal(request.status, 202);
    assert.deepEqual(request.parts, ['file']);
    assert.equal(request.file!.name, `analytics-2026-11-28-013306+0000-${i}.tar.gz`);
    assert.equal(request.file!.contentType, 'application/vnd.redhat.tower.tower_payload+tgz');
  }
  assert.ok(report.tarballs.every((t) => t.shipped && typeof t.requestId === 'string' && t.requestId.length > 0));
  assert.deepEqual(await readdir(ws.output), [], 'shipped tarballs are deleted');
  assert.deepEqual(store.current, {
    version: 1,
    lastGather: new Date(UNTIL),
    entries: { hosts: new Date(UNTIL), daily: new Date(UNTIL) },
  } satisfies State);
});

test('ship --keep keeps shipped tarballs', async (t) => {
  const { ws, ingress } = await setup(t);
  const { report } = await ship(ws, ingress, memoryStore(), true);
  assert.equal((await readdir(ws.output)).length, 3);
  assert.ok(report.tarballs.every((t) => t.shipped));
});

test('a failed upload keeps the tarball in failed/ and freezes its key where the failure starts', async (t) => {
  const { ws, ingress } = await setup(t);
  ingress.misbehave({ status: 202, body: '{"request_id":"r-0"}' }, { status: 500, body: 'boom' });
  const { report, store } = await ship(ws, ingress);
  assert.equal(report.failed, true);
  assert.deepEqual(report.tarballs.map((t) => t.shipped), [true, false, true]);
  assert.match(report.tarballs[1]!.error!, /500/);
  const failed = await readdir(join(ws.output, 'failed'));
  assert.deepEqual(failed, ['analytics-2026-11-28-013306+0000-1.tar.gz']);
  assert.equal(report.tarballs[1]!.path, join(ws.output, 'failed', failed[0]!));
  const kept = await unpack(report.tarballs[1]!.path);
  assert.ok(kept.entries.includes('./daily.csv'), 'nothing lost: the failed slice is on disk');
  // Slice 1 (with hosts) was accepted; slice 2 failed; slice 3 was accepted but must not move the key past slice 2.
  assert.deepEqual(store.current.entries, { hosts: new Date(UNTIL), daily: new Date('2026-11-26T01:33:06.000Z') });
  assert.deepEqual(store.current.lastGather, new Date(UNTIL));
});

test('a key with no entry whose first collection fails is pinned at that collection\'s since', async (t) => {
  const { ws, ingress } = await setup(t);
  ingress.misbehave({ status: 503 });
  const { store } = await ship(ws, ingress);
  assert.deepEqual(store.current.entries.daily, new Date('2026-11-25T01:33:06.000Z'));
  // hosts rode in the failed tarball and had no entry: pinned at its own since (until - 4 weeks).
  assert.deepEqual(store.current.entries.hosts, new Date('2026-10-31T01:33:06.000Z'));
});

test('after a final 401 nothing more is uploaded and nothing advances', async (t) => {
  const { ws, ingress } = await setup(t);
  ingress.misbehave({ status: 401, body: 'bad credentials' });
  const { report, store } = await ship(ws, ingress, memoryStore({ version: 1, lastGather: null, entries: { daily: new Date('2026-11-20T00:00:00.000Z') } }));
  assert.equal(ingress.requests.length, 1);
  assert.ok(report.tarballs.every((t) => !t.shipped));
  // How many tarballs were written before the 401 arrived depends on timing (collections run at the same time and
  // none starts after it); each one written is kept in failed/, and the report says so.
  const kept = report.tarballs.filter((t) => t.disposition === 'failed');
  assert.ok(kept.length >= 1);
  assert.equal((await readdir(join(ws.output, 'failed'))).length, kept.length);
  assert.deepEqual(store.current.entries, { daily: new Date('2026-11-20T00:00:00.000Z'), hosts: new Date('2026-10-31T01:33:06.000Z') });
});

test('a dry run reads the state but never writes it', async (t) => {
  const { ws } = await setup(t);
  const store = memoryStore({ version: 1, lastGather: new Date('2026-11-27T00:00:00.000Z'), entries: { hosts: new Date('2026-11-27T12:00:00.000Z') } });
  const report = await runGather(ws, { store });
  assert.equal(store.writes, 0);
  assert.equal(report.collections.find((c) => c.key === 'hosts')!.since, '2026-11-27T12:00:00.000Z');
});
