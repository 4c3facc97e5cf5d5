/**
 * `list` loads TypeScript collectors without the module hooks once an earlier `list` relocated them into the cache
 * (src/collect/direct.ts): the same output, the same error locations; and any change — a source, a helper, a
 * `node_modules` folder appearing along the way — sends it back through the hooks.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cachedProject, wordHelper, writeTagger } from '../helpers/cli-fixtures.js';
import { cli, makeProject } from '../helpers/fault-cli.js';

const COLLECTOR = `import { register } from 'analytics-collect';
import { word } from './_word.js';
import { tag } from 'tagger';
if (process.env.THROW_AT_LOAD) {
  throw new Error('load failed on purpose');
}
const meta: { key: string; version: string; description: string } = { key: 'words', version: '1.0', description: word + ' ' + tag };
export const words = register(meta, async () => ({ url: import.meta.url }));
`;

describe('list without the module hooks', () => {
  const fixture = cachedProject({ tagger: 'from-project', collectors: { '_word.ts': wordHelper('first'), 'words.ts': COLLECTOR } });

  const list = async (env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> =>
    cli(['list', '--json'], { cwd: fixture.project.dir, env: fixture.env(env) });
  const description = (stdout: string): string =>
    (JSON.parse(stdout) as { list: { key: string; description: string }[] }).list.find((c) => c.key === 'words')!.description;
  const relocated = async (): Promise<string[]> => {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else if (entry.name.startsWith('words.ts.') && entry.name.endsWith('.mjs')) files.push(join(dir, entry.name));
      }
    };
    await walk(join(fixture.cache, 'direct'));
    return files;
  };

  it('prints the same on the second run, from the relocated modules', async () => {
    const first = await list();
    assert.equal(first.code, 0, first.stderr);
    assert.equal(description(first.stdout), 'first from-project');
    const [entry, ...more] = await relocated();
    assert.ok(entry !== undefined && more.length === 0, 'one relocated words.ts');

    const second = await list();
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);

    // Proof that the second run loads the relocated module: a marked copy of it is what a third run lists.
    const original = await readFile(entry, 'utf8');
    await writeFile(entry, original.replace('description: word + " " + tag', 'description: "relocated " + word'));
    assert.equal(description((await list()).stdout), 'relocated first');
    await writeFile(entry, original);
  });

  it('reports an error at load with the same location as through the hooks', async () => {
    assert.equal((await list()).code, 0);
    const direct = await list({ THROW_AT_LOAD: '1' });
    const hooks = await list({ THROW_AT_LOAD: '1', ANALYTICS_CACHE_DIR: 'off' });
    assert.equal(hooks.code, 2);
    assert.match(hooks.stderr, /load failed on purpose \(at .*words\.ts:5:9\)/);
    assert.equal(direct.code, hooks.code);
    assert.equal(direct.stderr, hooks.stderr);
    assert.equal(direct.stdout, hooks.stdout);
  });

  it('a module it cannot relocate faithfully (import.meta.resolve) keeps loading through the hooks', async () => {
    const other = await makeProject();
    try {
      await other.collector(
        'resolving.ts',
        `import { register } from 'analytics-collect';
const here = import.meta.resolve('./resolving.ts');
export const resolving = register({ key: 'resolving', version: '1.0', description: here }, async () => ({ here }));
`,
      );
      const run = async (): Promise<string> => {
        const result = await cli(['list', '--json'], { cwd: other.dir, env: fixture.env() });
        assert.equal(result.code, 0, result.stderr);
        return result.stdout;
      };
      const first = await run();
      assert.match(first, /"description":"file:[^"]*\/collectors\/resolving\.ts/);
      assert.equal(await run(), first);
      assert.equal(await run(), first);
    } finally {
      await other.cleanup();
    }
  });

  it('a TypeScript collector importing JSON (import attributes) loads through the hooks and relocated', async () => {
    const other = await makeProject();
    try {
      await writeFile(join(other.dir, 'collectors', 'data.json'), JSON.stringify({ word: 'from-json' }));
      await other.collector(
        'json.ts',
        `import { register } from 'analytics-collect';
import data from './data.json' with { type: 'json' };
export const fromJson = register({ key: 'json', version: '1.0', description: data.word }, async () => data);
`,
      );
      const first = await cli(['list', '--json'], { cwd: other.dir, env: fixture.env() });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /"description":"from-json"/);
      const second = await cli(['list', '--json'], { cwd: other.dir, env: fixture.env() });
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, first.stdout);
    } finally {
      await other.cleanup();
    }
  });

  it('an edited helper, or a node_modules folder appearing closer, is loaded as it is now', async () => {
    assert.equal(description((await list()).stdout), 'first from-project');
    await fixture.project.collector('_word.ts', wordHelper('second'));
    assert.equal(description((await list()).stdout), 'second from-project');
    assert.equal(description((await list()).stdout), 'second from-project');

    // A closer node_modules/tagger: Node resolves the bare import from the collectors folder now.
    await writeTagger(join(fixture.project.dir, 'collectors'), 'from-collectors');
    assert.equal(description((await list()).stdout), 'second from-collectors');
    assert.equal(description((await list()).stdout), 'second from-collectors');
    await rm(join(fixture.project.dir, 'collectors', 'node_modules'), { recursive: true });
    assert.equal(description((await list()).stdout), 'second from-project');
  });
});
