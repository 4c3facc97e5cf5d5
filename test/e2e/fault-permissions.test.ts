/**
 * Permissions (contract §3): tarballs, the state and the lock are 0600, the directories the tool creates 0700 —
 * whatever the umask (the CLI runs here under umask 000, where any default mode would show). Keys and names
 * cannot carry path tricks: a collector key, an `--only` key, a state entry or a packager's tarball name that
 * tries to climb out is refused before anything is written outside the output directory.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { register } from '../../src/collect/register.js';
import { readTarball } from '../../src/pack/read-tarball.js';
import { cli, listTree, modeOf } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';
import { cliFixtures } from '../helpers/cli-fixtures.js';

const fixtures = cliFixtures({ ingress: true });
const { project } = fixtures;

/** A collector that reports the modes it can see while the run holds the lock: its outputDir, the lock file. */
const probeSource = (lockFile: string): string => `import { register, CsvFileSplitter } from 'analytics-collect';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
const mode = async (path) => ((await stat(path)).mode & 0o777).toString(8);
export const c = register({ key: 'probe', version: '1.0' }, async (ctx) => {
  const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'probe.csv'), maxFileSize: 1000, columns: ['a'] });
  await out.write(['x']);
  const [csv] = await out.close();
  return {
    outputDir: await mode(ctx.outputDir),
    runDir: await mode(dirname(ctx.outputDir)),
    lock: await mode(${JSON.stringify(lockFile)}),
    splitterFile: await mode(csv),
  };
});
`;

describe('modes of what the tool creates, under umask 000', () => {
  it('tarballs, failed/, the state and the lock are 0600; output, tmp, state and collection directories 0700', async () => {
    const p = await project({
      output: './deep/out',
      tmpDir: './deep/tmp',
      stateFile: './deep/state/state.json',
      ship: { url: fixtures.shared.url, contentType: 'application/vnd.redhat.tower.tower_payload+tgz', retries: 0 },
    });
    await p.collector('probe.mjs', probeSource(join(p.dir, 'deep', 'state', 'state.json.lock')));
    await p.collector('other.mjs', jsonSource('other', { group: 'other' }, { group: 'other' }));
    fixtures.shared.misbehave({ status: 202, body: '{"request_id":"r1"}' }, { status: 400, body: 'no' });
    const run = await cli(['gather', '--ship', '--keep'], { cwd: p.dir, umask: '000' });
    assert.equal(run.code, 1, run.stderr); // the second tarball is refused: it goes to failed/
    const deep = join(p.dir, 'deep');
    const kept = (await readdir(join(deep, 'out'))).filter((n) => n.endsWith('.tar.gz'));
    const failed = await readdir(join(deep, 'out', 'failed'));
    assert.equal(kept.length, 1);
    assert.equal(failed.length, 1);
    const modes = {
      output: await modeOf(join(deep, 'out')),
      tmp: await modeOf(join(deep, 'tmp')),
      stateDir: await modeOf(join(deep, 'state')),
      state: await modeOf(join(deep, 'state', 'state.json')),
      kept: await modeOf(join(deep, 'out', kept[0]!)),
      failedDir: await modeOf(join(deep, 'out', 'failed')),
      failed: await modeOf(join(deep, 'out', 'failed', failed[0]!)),
    };
    assert.deepEqual(modes, { output: 0o700, tmp: 0o700, stateDir: 0o700, state: 0o600, kept: 0o600, failedDir: 0o700, failed: 0o600 });
    // What the collector saw during the run, from whichever tarball carries probe.json.
    let seen: Record<string, string> | undefined;
    for (const path of [join(deep, 'out', kept[0]!), join(deep, 'out', 'failed', failed[0]!)]) {
      const t = await readTarball(path);
      if (t.members.some((m) => m.name === 'probe.json')) seen = JSON.parse((await t.read('probe.json')).toString()) as Record<string, string>;
    }
    assert.deepEqual(seen, { outputDir: '700', runDir: '700', lock: '600', splitterFile: '600' });
    assert.deepEqual(await listTree(join(deep, 'tmp')), []);
  });
});

describe('path tricks in keys and names', { concurrency: 3 }, () => {
  const TRICKS = ['../evil', 'a/b', '..', '.', '.hidden', '', 'a\\b', 'nul\u0000byte', '/abs', 'sp ace', 'new\nline', '-dash'];
  for (const key of TRICKS) {
    it(`register() refuses the key ${JSON.stringify(key)}`, () => {
      assert.throws(() => register({ key, version: '1' }, () => null), (err: Error) => {
        assert.equal(err.name, 'CollectorDefinitionError');
        assert.match(err.message, /key must match/);
        return true;
      });
    });
  }

  it('a collector module with a key that climbs out: exit 2 naming the file and the key, nothing written', async () => {
    const p = await project();
    const file = await p.collector('evil.mjs', jsonSource('../../evil', { x: 1 }));
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(file), run.stderr);
    assert.ok(run.stderr.includes('../../evil'), run.stderr);
    // Only the run's history line (§9: every gather is recorded, however it ends) beside the state.
    const written = (await listTree(p.dir)).filter((f) => !f.startsWith('collectors') && f !== 'analytics.config.json');
    assert.deepEqual(written, ['state', 'state/history.jsonl']);
  });

  it('--only with a key that climbs out: exit 2, unknown key', async () => {
    const p = await project();
    await p.collector('j.mjs', jsonSource('jobs', { x: 1 }));
    const run = await cli(['gather', '--only', '../jobs'], { cwd: p.dir });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--only: unknown key \.\.\/jobs/);
  });

  it('a packager whose tarballBase() climbs out: refused, nothing written outside the output directory', async () => {
    const p = await project({ packager: './packager.mjs' });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(p.dir, 'packager.mjs'), `export default { tarballBase: () => '../escaped' };\n`);
    await p.collector('j.mjs', jsonSource('jobs', { x: 1 }));
    const run = await cli(['gather'], { cwd: p.dir });
    assert.notEqual(run.code, 0, run.stderr);
    assert.match(run.stderr, /tarballBase\(\) returned "\.\.\/escaped"; return a file name stem without slashes/);
    const tree = await listTree(p.dir);
    assert.ok(!tree.some((f) => f.includes('escaped')), `nothing named escaped: ${tree.join(', ')}`);
    assert.deepEqual(await listTree(p.tmp), []);
    assert.ok(!tree.some((f) => f.endsWith('.lock')));
  });
});
