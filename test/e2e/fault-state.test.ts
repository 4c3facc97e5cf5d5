/**
 * A damaged state is an error that names it (exit 2), never a silent reset — and the file is left exactly as
 * it was (bytes and modification time), nothing is gathered, no lock is left behind.
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { cli, closedPort, listTree, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';

const projects: Project[] = [];
let port: number;
before(async () => {
  requireBuild();
  port = await closedPort();
});
after(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
});

const VALID = { version: 1, lastGather: '2026-11-20T00:00:00.000Z', entries: { jobs: '2026-11-20T00:00:00.000Z' } };
const DAMAGES: Record<string, string> = {
  'garbage bytes': '\u0000\u0001not json at all\u00ff',
  'a write cut in half': JSON.stringify(VALID, null, 2).slice(0, 40),
  'an empty file': '',
  'a date that is no date': JSON.stringify({ ...VALID, entries: { jobs: 'yesterday' } }),
  'an entry key with a path trick': JSON.stringify({ ...VALID, entries: { '../jobs': '2026-11-20T00:00:00.000Z' } }),
  'another version': JSON.stringify({ ...VALID, version: 2 }),
  'an array': '[]',
};

describe('a damaged state file', { concurrency: 4 }, () => {
  for (const [damage, text] of Object.entries(DAMAGES)) {
    // Every damage with a ship run (the one that would write the state); the first also with dry run and `state`.
    const commands = damage === 'garbage bytes' ? [['gather', '--ship'], ['gather'], ['state']] : [['gather', '--ship']];
    it(`${damage}: ${commands.map((c) => c.join(' ')).join(', ')} exit 2 naming it; the file is untouched`, async () => {
      const p = await makeProject({ ship: { url: `http://127.0.0.1:${port}/upload`, contentType: 'application/vnd.redhat.tower.tower_payload+tgz' } });
      projects.push(p);
      await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
      await p.writeState({ lastGather: null, entries: {} });
      await writeFile(p.stateFile, text, { mode: 0o600 });
      const before = await stat(p.stateFile);
      for (const args of commands) {
        const run = await cli(args, { cwd: p.dir });
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.ok(run.stderr.includes(p.stateFile), `${args.join(' ')} names the file: ${run.stderr}`);
        assert.match(run.stderr, /damaged/);
        assert.equal(run.stdout, '');
      }
      assert.equal(await readFile(p.stateFile, 'utf8'), text, 'the bytes are unchanged');
      assert.equal((await stat(p.stateFile)).mtimeMs, before.mtimeMs, 'the file was not rewritten');
      const tree = await listTree(p.dir);
      assert.ok(!tree.some((f) => f.endsWith('.lock')), 'no lock left');
      assert.ok(!tree.some((f) => f.startsWith('out')), 'nothing was gathered');
    });
  }
});
