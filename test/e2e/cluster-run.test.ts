/**
 * §8 through the real CLI against the local PostgreSQL: switching coordination on starts from the JSON state's
 * positions (and says so); a node whose lock connection is terminated mid-run stops (exit 1, nothing more
 * uploaded, no state write); the database password, in each form libpq accepts, never reaches the summary, the
 * `--json` document or the logs, even when collector code prints the connection string.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterProject, type ClusterProject } from '../helpers/cluster.js';
import { cli, midnightDaysAgo, requireBuild, runCli } from '../helpers/fault-cli.js';
import { pgSkipReason } from '../helpers/pg.js';

const skip = await pgSkipReason();

describe('cluster runs (real CLI)', { skip, timeout: 120_000 }, () => {
  let project: ClusterProject;

  before(async () => {
    requireBuild();
    project = await clusterProject();
  });

  after(() => project?.close());

  test('switching coordination on: no row yet, the JSON state holds positions → the run starts from them (logged)', async () => {
    const position = midnightDaysAgo(2);
    await project.writeState({ lastGather: position, entries: { hosts: position } });
    await project.coordinate({ timeoutMs: 5000 });
    const run = await cli(['gather', '--ship', '--json'], { cwd: project.dir, env: project.env() });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /has no state yet: starting from the JSON state file .*state\.json \(1 position, last gather /);
    const doc = JSON.parse(run.stdout) as { until: string; collections: { key: string; since: string }[] };
    assert.equal(doc.collections.find((c) => c.key === 'hosts')?.since, position);
    assert.equal((await project.stateRow())?.entries['hosts'], doc.until);
    // From now on the table is the state: the file is not read again.
    const next = await cli(['gather', '--ship', '--json'], { cwd: project.dir, env: project.env() });
    assert.equal(next.code, 0, next.stderr);
    assert.doesNotMatch(next.stderr, /starting from the JSON state file/);
    assert.equal((JSON.parse(next.stdout) as { collections: { since: string }[] }).collections[0]?.since, doc.until);
  });

  test('the lock connection terminated mid-run: exit 1, no further upload, no state write', async () => {
    const go = join(project.dir, 'go');
    await project.collector(
      '20-sliced.mjs',
      `import { register } from 'analytics-collect';
import { existsSync, watch } from 'node:fs';
const go = ${JSON.stringify(go)};
const waitForGo = () => new Promise((resolve) => {
  const w = watch(${JSON.stringify(project.dir)}, () => { if (existsSync(go)) { w.close(); resolve(); } });
  if (existsSync(go)) { w.close(); resolve(); }
});
let second = false;
export const sliced = register({ key: 'sliced', version: '1.0', slicing: function* ({ since, until, lastEntry, lastGather }) {
  const start = since ?? lastEntry ?? lastGather;
  const mid = new Date((start.getTime() + until.getTime()) / 2);
  yield [start, mid]; yield [mid, until];
} }, async (ctx) => {
  if (second) { console.error('second slice waiting'); await waitForGo(); }
  second = true;
  return { slice: ctx.since.toISOString() };
});
`,
    );
    await project.coordinate({ timeoutMs: 5000 });
    const sent = project.ingress.requests.length;
    const run = runCli(['gather', '--ship', '--json'], { cwd: project.dir, env: project.env() });
    await run.waitForStderr('second slice waiting');
    // The first slice's tarball is uploaded before the loss.
    if (project.ingress.requests.length === sent) await project.ingress.nextRequest();
    const uploadedBefore = project.ingress.requests.length;
    assert.equal(await project.terminateLockHolder(), 1);
    await writeFile(go, '');
    const result = await run.exit;
    await project.collector('20-sliced.mjs', '');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /lost the coordination lock/);
    assert.equal(project.ingress.requests.length, uploadedBefore, 'nothing uploaded after the loss');
    const until = (JSON.parse(result.stdout) as { until: string }).until;
    const row = await project.stateRow();
    assert.notEqual(row?.entries['sliced'], until, 'the second slice was not recorded');
    assert.notEqual(row?.lastGather, until, 'the run was not recorded as complete');
  });

  for (const [form, password, postgres] of [
    ['URL user:password@', 'Pw1-url-s3cret', 'postgresql://root:Pw1-url-s3cret@127.0.0.1:5432/test'],
    ['URL ?password=', 'Pw2+q s3cret', 'postgresql://root@127.0.0.1:5432/test?password=Pw2%2Bq%20s3cret'],
    ['key=value password=', "Pw3 kv's3cret", "host=127.0.0.1 port=5432 dbname=test user=root password='Pw3 kv\\'s3cret'"],
  ] as const) {
    test(`the password (${form}) never reaches the summary, --json or the logs`, async () => {
      await project.collector(
        '30-leaky.mjs',
        `import { register } from 'analytics-collect';
export const leaky = register({ key: 'leaky', version: '1.0' }, async (ctx) => {
  const url = process.env.ANALYTICS_PG_URL;
  ctx.logger.info({ url }, 'connecting to ' + url);
  console.error('collector says ' + url + ' ' + encodeURIComponent(url));
  throw new Error('cannot query ' + url + ' (' + ${JSON.stringify(password)} + ')');
});
`,
      );
      await project.coordinate({ timeoutMs: 5000 });
      const env = project.env({ ANALYTICS_PG_URL: postgres });
      const json = await cli(['gather', '--ship', '--json'], { cwd: project.dir, env });
      const text = await cli(['gather', '--ship', '--log-level', 'debug'], { cwd: project.dir, env });
      await project.collector('30-leaky.mjs', '');
      for (const run of [json, text]) {
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /cannot query/);
        const all = run.stdout + run.stderr;
        for (const form of new Set([password, encodeURIComponent(password), encodeURIComponent(password).replace(/%20/g, '+'), Buffer.from(password).toString('base64')])) {
          assert.ok(!all.includes(form), `the password leaked as ${form}`);
        }
      }
      assert.match((JSON.parse(json.stdout) as { collections: { key: string; error: string }[] }).collections.find((c) => c.key === 'leaky')?.error ?? '', /cannot query .*\*\*\*/);
    });
  }
});
