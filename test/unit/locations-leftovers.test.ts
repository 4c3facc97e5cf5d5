/** checkLocations (§7: --output and tmpDir) and cleanLeftovers (§3: what a killed run left), on real files. */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkLocations, directoryProblem } from '../../src/config/locations.js';
import { AppError } from '../../src/errors.js';
import { cleanLeftovers, createRunDir } from '../../src/state/leftovers.js';
import { tempRoot } from '../helpers/temp.js';

const root = tempRoot('locations');
const dir = root.fresh;

describe('directoryProblem / checkLocations', () => {
  it('accepts an existing directory and a missing one under a writable directory, creating nothing', async () => {
    const d = await dir();
    assert.equal(await directoryProblem(d), null);
    assert.equal(await directoryProblem(join(d, 'a', 'b')), null);
    assert.deepEqual(await readdir(d), []);
  });

  it('names a file, a device and a path under a file', async () => {
    const d = await dir();
    await writeFile(join(d, 'f'), 'x');
    assert.equal(await directoryProblem(join(d, 'f')), 'is a file, not a directory');
    assert.equal(await directoryProblem('/dev/null'), 'is a character device, not a directory');
    assert.equal(await directoryProblem(join(d, 'f', 'out')), `cannot be created: ${join(d, 'f')} is a file`);
  });

  it('checks output first, then tmpDir, naming the path and the config file (exit 2)', async () => {
    const d = await dir();
    await assert.rejects(checkLocations({ output: '/dev/null', tmpDir: '/dev/null', configFile: '/p/analytics.config.json' }), (err: Error) => {
      assert.ok(err instanceof AppError && err.exitCode === 2);
      assert.equal(err.message, 'output directory /dev/null is a character device, not a directory; give a writable directory with --output or "output" in /p/analytics.config.json');
      return true;
    });
    await assert.rejects(checkLocations({ output: d, tmpDir: '/dev/null', configFile: null }), {
      message: 'tmpDir /dev/null is a character device, not a directory; set "tmpDir" to a writable directory',
    });
    await checkLocations({ output: d, tmpDir: d, configFile: null });
  });
});

describe('cleanLeftovers', () => {
  it('removes run directories of dead processes and .partial tarballs; keeps live ones, its own and anything else', async () => {
    const tmp = await dir();
    const output = await dir();
    const own = await createRunDir(tmp);
    for (const name of ['analytics-collect-run-111-aaaaaa', 'analytics-collect-run-222-bbbbbb', `analytics-collect-run-${process.pid}-cccccc`, 'analytics-collect-x', 'other']) {
      await mkdir(join(tmp, name, 'sub'), { recursive: true });
    }
    for (const name of ['.a.tar.gz.0123456789ab.partial', 'a.tar.gz', '.a.tar.gz.partial', 'notes.partial']) await writeFile(join(output, name), 'x');
    const removed = await cleanLeftovers({ tmpDir: tmp, output }, { isAlive: (pid) => pid === 222 });
    assert.deepEqual(removed.runDirs.sort(), [join(tmp, 'analytics-collect-run-111-aaaaaa'), join(tmp, `analytics-collect-run-${process.pid}-cccccc`)].sort());
    assert.deepEqual(removed.partials, [join(output, '.a.tar.gz.0123456789ab.partial')]);
    assert.deepEqual((await readdir(tmp)).sort(), [own.slice(tmp.length + 1), 'analytics-collect-run-222-bbbbbb', 'analytics-collect-x', 'other'].sort());
    assert.deepEqual((await readdir(output)).sort(), ['.a.tar.gz.partial', 'a.tar.gz', 'notes.partial']);
  });

  it('never throws when the directories are missing', async () => {
    assert.deepEqual(await cleanLeftovers({ tmpDir: join(root.path, 'missing'), output: join(root.path, 'missing2') }), { runDirs: [], partials: [] });
  });
});
