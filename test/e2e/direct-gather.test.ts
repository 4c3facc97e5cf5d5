/**
 * `gather` loads collector modules without the module hooks once an earlier run relocated them into the cache
 * (src/collect/direct.ts), as `list` does: the same tarballs and state as through the hooks, the same error
 * locations for a collector that fails while it runs; a changed source, or a module that needs the hooks at run
 * time, loads through them.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readTarball } from '../../src/pack/read-tarball.js';
import { cachedProject, wordHelper } from '../helpers/cli-fixtures.js';
import { cli, makeProject } from '../helpers/fault-cli.js';

const WINDOW = ['--since', '2026-11-01T00:00:00Z', '--until', '2026-11-03T00:00:00Z'];

/** A sliced CSV collector (TypeScript, a helper, a bare import) and a JSON one that imports a helper at run time. */
const COLLECTORS = `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { register } from 'analytics-collect';
import { word } from './_word.js';
import { tag } from 'tagger';

const DAY = 86_400_000;
export const rows = register(
  {
    key: 'rows',
    version: '1.0',
    format: 'csv',
    slicing: function* ({ since, until }) {
      for (let t = since!.getTime(); t < until.getTime(); t += DAY) yield [new Date(t), new Date(Math.min(t + DAY, until.getTime()))];
    },
  },
  async (ctx) => {
    if (process.env.FAIL_AT_RUN) {
      throw new Error('failed on purpose');
    }
    const file = join(ctx.outputDir, 'rows.csv');
    await writeFile(file, 'since,word,tag\\n' + ctx.since.toISOString() + ',' + word + ',' + tag + '\\n');
    return file;
  },
);
export const info = register({ key: 'info', version: '1.0' }, async () => {
  const later: { later: string } = await import('./_later.js');
  return { url: import.meta.url.replace(/^.*\\/collectors\\//, ''), later: later.later, word };
});
`;

interface Gathered {
  code: number;
  stderr: string;
  /** Every member's text but the two that hold the time of the run (status and manifest). */
  members: Record<string, string>;
  state: unknown;
  collections: { key: string; status: string; error?: string | null }[];
}

describe('gather without the module hooks', () => {
  const fixture = cachedProject({
    tagger: 'from-project',
    collectors: { '_word.ts': wordHelper('first'), '_later.ts': `export const later: string = 'imported while running';\n`, 'both.ts': COLLECTORS },
  });

  const gather = async (env: NodeJS.ProcessEnv = {}): Promise<Gathered> => {
    await rm(fixture.project.output, { recursive: true, force: true });
    await rm(join(fixture.project.dir, 'state'), { recursive: true, force: true });
    const run = await cli(['gather', '--json', ...WINDOW], { cwd: fixture.project.dir, env: fixture.env(env) });
    const members: Record<string, string> = {};
    let collections: Gathered['collections'] = [];
    if (run.stdout !== '') {
      const report = JSON.parse(run.stdout) as { tarballs: { path: string }[]; collections: Gathered['collections'] };
      collections = report.collections;
      for (const [index, { path }] of report.tarballs.entries()) {
        const tarball = await readTarball(path, { keep: () => true });
        for (const member of tarball.members) {
          if (member.name === 'data_collection_status.csv' || member.name === 'manifest.json') continue;
          members[`${index}/${member.name}`] = (await tarball.read(member.name)).toString('utf8');
        }
      }
    }
    return { code: run.code, stderr: run.stderr, members, state: await fixture.project.readState(), collections };
  };
  const relocated = async (name: string): Promise<string[]> => {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else if (entry.name.startsWith(`${name}.`) && entry.name.endsWith('.mjs')) files.push(join(dir, entry.name));
      }
    };
    await walk(join(fixture.cache, 'direct'));
    return files;
  };

  it('writes the same tarballs and state from the relocated modules as through the hooks', async () => {
    const hooks = await gather({ ANALYTICS_CACHE_DIR: 'off' });
    assert.equal(hooks.code, 0, hooks.stderr);
    assert.deepEqual(Object.keys(hooks.members).sort(), ['0/config.json', '0/info.json', '0/rows.csv', '1/config.json', '1/rows.csv']);
    assert.match(hooks.members['0/rows.csv']!, /first,from-project/);
    assert.match(hooks.members['0/info.json']!, /imported while running/);

    const first = await gather();
    assert.equal(first.code, 0, first.stderr);
    const [entry, ...more] = await relocated('both.ts');
    assert.ok(entry !== undefined && more.length === 0, 'one relocated both.ts');
    const second = await gather();
    assert.equal(second.code, 0, second.stderr);
    for (const run of [first, second]) {
      assert.deepEqual(run.members, hooks.members);
      assert.deepEqual(run.state, hooks.state);
      assert.deepEqual(run.collections, hooks.collections);
    }

    // Proof that a gather runs the relocated module: a marked copy of it is what the next one packs.
    const original = await readFile(entry, 'utf8');
    await writeFile(entry, original.replace('"," + word + ","', '",relocated,"'));
    try {
      assert.match((await gather()).members['0/rows.csv']!, /,relocated,from-project/);
    } finally {
      await writeFile(entry, original);
    }
  });

  it('names the same source line for a collector that fails while it runs', async () => {
    assert.equal((await gather()).code, 0);
    const direct = await gather({ FAIL_AT_RUN: '1' });
    const hooks = await gather({ FAIL_AT_RUN: '1', ANALYTICS_CACHE_DIR: 'off' });
    assert.equal(hooks.code, 1, hooks.stderr);
    const failed = hooks.collections.find((c) => c.key === 'rows' && c.status === 'failed');
    assert.match(failed?.error ?? '', /failed on purpose \(at .*both\.ts:19:13\)/);
    assert.equal(direct.code, hooks.code);
    assert.deepEqual(direct.collections, hooks.collections);
    assert.deepEqual(direct.members, hooks.members);
    assert.deepEqual(direct.state, hooks.state);
  });

  it('an edited helper is packed as it is now', async () => {
    assert.match((await gather()).members['0/rows.csv']!, /first,from-project/);
    await fixture.project.collector('_word.ts', wordHelper('second'));
    assert.match((await gather()).members['0/rows.csv']!, /second,from-project/);
    assert.match((await gather()).members['0/rows.csv']!, /second,from-project/);
    await fixture.project.collector('_word.ts', wordHelper('first'));
  });

  it('a collector that imports a computed name while it runs keeps loading through the hooks', async () => {
    const other = await makeProject();
    try {
      await other.collector('_late.ts', `export const late: string = 'compiled by the hooks';\n`);
      await other.collector(
        'computed.ts',
        `import { register } from 'analytics-collect';
export const computed = register({ key: 'computed', version: '1.0' }, async () => {
  const name = './_' + 'late.ts';
  const { late } = (await import(name)) as { late: string };
  return { late };
});
`,
      );
      for (let i = 0; i < 3; i++) {
        await rm(other.output, { recursive: true, force: true });
        const run = await cli(['gather', '--json'], { cwd: other.dir, env: fixture.env() });
        assert.equal(run.code, 0, run.stderr);
        const report = JSON.parse(run.stdout) as { tarballs: { path: string }[] };
        const tarball = await readTarball(report.tarballs[0]!.path);
        assert.equal(JSON.parse((await tarball.read('computed.json')).toString('utf8')).late, 'compiled by the hooks');
      }
    } finally {
      await other.cleanup();
    }
  });
});
