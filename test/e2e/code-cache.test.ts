/**
 * The bin compiles the bundled CLI with a V8 code cache (bin/analytics-collect, scripts/build.ts): one entry per
 * command under `<cache>/v8/`, written by the first run, used by the next; a damaged entry or one V8 rejects is
 * written again, entries of other builds go, `ANALYTICS_CACHE_DIR=off` writes none — and the output never changes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';

const COLLECTOR = `import { register } from 'analytics-collect';
import { word } from './_word.js';
export const words = register({ key: 'words', version: '1.0', description: word }, async () => ({ word }));
`;

describe('the code cache of the bundled CLI', () => {
  let project: Project;
  let cache: string;

  before(async () => {
    requireBuild();
    project = await makeProject();
    await project.collector('_word.ts', `export const word: string = 'cached';\n`);
    await project.collector('words.ts', COLLECTOR);
  });
  after(() => project.cleanup());

  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> => {
    const result = await cli(args, { cwd: project.dir, env: cleanEnv({ ANALYTICS_CACHE_DIR: cache, ...env }) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    return result.stdout;
  };
  const entries = async (): Promise<string[]> => (await readdir(join(cache, 'v8')).catch(() => [])).sort();

  it('writes one entry per command, and the next runs print the same from it', async () => {
    cache = await mkdtemp(join(tmpdir(), 'ac-code-cache-'));
    try {
      const first = await run(['list', '--json']);
      assert.match(first, /"description":"cached"/);
      const [entry, ...more] = await entries();
      assert.ok(entry !== undefined && more.length === 0, `one entry: ${[entry, ...more].join(', ')}`);
      assert.match(entry, new RegExp(`^[0-9a-f]{32}-${process.version}-${process.arch}-list\\.bin$`));
      const written = await readFile(join(cache, 'v8', entry));
      assert.equal(await run(['list', '--json']), first);
      assert.deepEqual(await readFile(join(cache, 'v8', entry)), written, 'an accepted entry is not written again');

      await run(['state', '--json']);
      assert.deepEqual((await entries()).map((name) => name.replace(/^.*-/, '')), ['list.bin', 'state.bin']);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('a damaged entry is not used and is written again; entries of another build go', async () => {
    cache = await mkdtemp(join(tmpdir(), 'ac-code-cache-'));
    try {
      const first = await run(['list', '--json']);
      const [entry] = await entries();
      await writeFile(join(cache, 'v8', entry!), Buffer.alloc(4096, 7));
      await writeFile(join(cache, 'v8', `${'0'.repeat(32)}-${process.version}-${process.arch}-list.bin`), 'an older build');
      assert.equal(await run(['list', '--json']), first);
      assert.deepEqual(await entries(), [entry]);
      assert.notDeepEqual(await readFile(join(cache, 'v8', entry!)), Buffer.alloc(4096, 7));
      assert.equal(await run(['list', '--json']), first);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('ANALYTICS_CACHE_DIR=off writes no entry', async () => {
    cache = await mkdtemp(join(tmpdir(), 'ac-code-cache-'));
    try {
      const off = await run(['list', '--json'], { ANALYTICS_CACHE_DIR: 'off' });
      assert.match(off, /"description":"cached"/);
      assert.deepEqual(await readdir(cache), []);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
