/**
 * Compiled TypeScript of collector modules is cached on disk, keyed by content (start-up time): a second `list`
 * reads it back, and an edited module is compiled again — a stale entry is never used. The CLI's code cache lives
 * in the same folder (bin/cache-dir.cjs decides it for both).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cachedProject } from '../helpers/cli-fixtures.js';
import { cleanEnv, cli } from '../helpers/fault-cli.js';

const collector = (description: string): string => `import { register } from 'analytics-collect';
const meta: { key: string; version: string; description: string } = { key: 'hosts', version: '1.0', description: ${JSON.stringify(description)} };
export const hosts = register(meta, async () => ({ n: 1 }));\n`;

describe('the compiled-TypeScript cache', () => {
  const fixture = cachedProject();

  const list = async (): Promise<{ description: string }[]> => {
    const result = await cli(['list', '--json'], { cwd: fixture.project.dir, env: fixture.env() });
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { list: { key: string; description: string }[] }).list.filter((c) => c.key === 'hosts');
  };

  it('keeps one entry per compiled source, and compiles an edited module again', async () => {
    await fixture.project.collector('hosts.ts', collector('first'));
    assert.equal((await list())[0]!.description, 'first');
    const entries = (await readdir(fixture.cache)).filter((n) => n.endsWith('.mjs'));
    assert.equal(entries.length, 1);
    assert.equal((await list())[0]!.description, 'first');
    assert.deepEqual((await readdir(fixture.cache)).filter((n) => n.endsWith('.mjs')), entries, 'read back, not written again');

    await fixture.project.collector('hosts.ts', collector('second'));
    assert.equal((await list())[0]!.description, 'second');
    assert.equal((await readdir(fixture.cache)).filter((n) => n.endsWith('.mjs')).length, 2);
  });

  it('by default both caches live in XDG_CACHE_HOME (else ~/.cache): compiled modules in analytics-collect/ts, the code cache in its v8 folder', async () => {
    await fixture.project.collector('hosts.ts', collector('first'));
    const home = await mkdtemp(join(tmpdir(), 'ac-ts-cache-home-'));
    try {
      for (const [env, folder] of [
        [{ XDG_CACHE_HOME: join(home, 'xdg') }, join(home, 'xdg', 'analytics-collect', 'ts')],
        [{ HOME: home }, join(home, '.cache', 'analytics-collect', 'ts')],
      ] as const) {
        const result = await cli(['list'], { cwd: fixture.project.dir, env: cleanEnv(env) });
        assert.equal(result.code, 0, result.stderr);
        assert.ok((await readdir(folder)).some((n) => n.endsWith('.mjs')), `compiled modules in ${folder}`);
        assert.ok((await readdir(join(folder, 'v8'))).some((n) => n.endsWith('-list.bin')), `the code cache in ${folder}/v8`);
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('ANALYTICS_CACHE_DIR=off keeps nothing', async () => {
    const result = await cli(['list'], { cwd: fixture.project.dir, env: cleanEnv({ ANALYTICS_CACHE_DIR: 'off', HOME: '/nonexistent' }) });
    assert.equal(result.code, 0, result.stderr);
  });
});
