import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors.js';
import { checkPositions, emptyState, fileStateStore, parseState, serializeState } from '../../src/state/file-store.js';
import type { State } from '../../src/types.js';
import { assertUsageError } from '../helpers/errors.js';
import { tempRoot } from '../helpers/temp.js';

const root = tempRoot('state-file-store');
/** A fresh directory per test. */
const dir = root.fresh;

/** State entries inherit nothing (a key `constructor` is a key like any other). */
function record<T>(values: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, values);
}

const sample: State = {
  version: 1,
  lastGather: new Date('2026-11-28T01:33:06.000Z'),
  entries: record({ jobs: new Date('2026-11-28T00:00:00.000Z'), jobs_full: new Date('2026-11-25T03:00:00.000Z') }),
};

const assertDamaged = assertUsageError;

describe('serializeState / parseState', () => {
  it('writes the contract\'s JSON shape, keys sorted, ending with a newline', () => {
    const text = serializeState({ ...sample, entries: { zeta: new Date(0), alpha: new Date(1) } });
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(JSON.parse(text), {
      version: 1,
      lastGather: '2026-11-28T01:33:06.000Z',
      entries: { alpha: '1970-01-01T00:00:00.001Z', zeta: '1970-01-01T00:00:00.000Z' },
    });
    assert.deepEqual(Object.keys(JSON.parse(text).entries), ['alpha', 'zeta']);
  });

  it('round-trips', () => {
    assert.deepEqual(parseState(serializeState(sample), 'x'), sample);
    assert.deepEqual(parseState(serializeState(emptyState()), 'x'), emptyState());
  });

  it('round-trips keys named like Object.prototype members, and keys of 100 characters plus _full', () => {
    const keys = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', `${'k'.repeat(100)}_full`];
    const state: State = { version: 1, lastGather: null, entries: record({}) };
    keys.forEach((key, i) => (state.entries[key] = new Date(Date.UTC(2026, 0, i + 1))));
    const text = serializeState(state);
    assert.deepEqual(Object.keys(JSON.parse(text).entries).sort(), [...keys].sort());
    const back = parseState(text, 'x');
    assert.equal(Object.getPrototypeOf(back.entries), null);
    assert.deepEqual(Object.keys(back.entries).sort(), [...keys].sort());
    for (const [i, key] of keys.entries()) assert.equal(back.entries[key]!.toISOString(), new Date(Date.UTC(2026, 0, i + 1)).toISOString());
    // Missing keys are missing, not inherited functions.
    assert.equal(parseState(serializeState(emptyState()), 'x').entries.toString, undefined);
  });

  it('accepts a UTF-8 byte order mark', () => {
    assert.deepEqual(parseState(`\uFEFF${serializeState(sample)}`, 'x'), sample);
  });

  it('never quotes the text in a message', () => {
    const secret = 'root:$6$SECRETHASH:19000:0:99999:7:::';
    for (const text of [secret, `{"version":1,"lastGather":"${secret}","entries":{}}`, `{"version":"${secret}"}`, `{"version":1,"${secret}":1}`, `{"version":1,"lastGather":null,"entries":{"${secret}":"2026-01-01"}}`, `{"version":1,"lastGather":null,"entries":{"jobs":"${secret}"}}`]) {
      assert.throws(() => parseState(text, 'state file /s.json'), (err: Error) => {
        assert.ok(!err.message.includes('SECRET'), err.message);
        assert.ok(!err.message.includes('root'), err.message);
        return assertDamaged(err, 'state file /s.json is damaged');
      });
    }
  });

  it('reads the example from the contract, and hand-written dates with offsets', () => {
    const state = parseState(
      '{ "version": 1, "lastGather": "2026-11-28T01:33:06+01:00", "entries": { "jobs": "2026-11-28T00:00:00Z" } }',
      'x',
    );
    assert.deepEqual(state, { version: 1, lastGather: new Date('2026-11-28T00:33:06.000Z'), entries: record({ jobs: new Date('2026-11-28T00:00:00.000Z') }) });
  });

  const damaged: [string, string, string][] = [
    ['empty text', '', 'it is empty'],
    ['whitespace', '  \n', 'it is empty'],
    ['truncated JSON', '{ "version": 1, "lastGa', 'not valid JSON'],
    ['an array', '[]', 'not a JSON object'],
    ['null', 'null', 'not a JSON object'],
    ['another version', '{ "version": 2, "lastGather": null, "entries": {} }', '"version" is 2'],
    ['no version', '{ "lastGather": null, "entries": {} }', '"version" is missing'],
    ['an unknown field', '{ "version": 1, "lastGather": null, "entries": {}, "extra": 1 }', 'unknown field "extra"'],
    ['no lastGather', '{ "version": 1, "entries": {} }', '"lastGather" is missing'],
    ['a bad lastGather', '{ "version": 1, "lastGather": "yesterday", "entries": {} }', '"lastGather" is a string of 9 characters, not an ISO 8601 date'],
    ['a numeric lastGather', '{ "version": 1, "lastGather": 1700000000000, "entries": {} }', '"lastGather" is a number, not'],
    ['no entries', '{ "version": 1, "lastGather": null }', '"entries" is not an object'],
    ['entries as an array', '{ "version": 1, "lastGather": null, "entries": [] }', '"entries" is not an object'],
    ['a bad entry date', '{ "version": 1, "lastGather": null, "entries": { "jobs": "2026-13-01" } }', 'entries["jobs"] is a string of 10 characters, not an ISO 8601 date'],
    ['a null entry', '{ "version": 1, "lastGather": null, "entries": { "jobs": null } }', 'entries["jobs"] is null'],
    ['a bad key', '{ "version": 1, "lastGather": null, "entries": { "jobs": "2026-11-01T00:00:00Z", "../jobs": "2026-11-01T00:00:00Z" } }', '"entries" key number 2 is no collector key'],
    ['a key of 106 characters', `{ "version": 1, "lastGather": null, "entries": { "${'k'.repeat(106)}": "2026-11-01T00:00:00Z" } }`, 'key number 1'],
    ['a BOM twice', '\uFEFF\uFEFF{ "version": 1, "lastGather": null, "entries": {} }', 'not valid JSON (unexpected token)'],
    ['a trailing comma', '{ "version": 1, "lastGather": null, "entries": {}, }', 'not valid JSON (expected double-quoted property name at line 1, column 52)'],
    ['a cut file', '{ "version": 1, "lastGather": null, "entr', 'not valid JSON (unterminated string at line 1, column 42)'],
  ];
  for (const [what, text, problem] of damaged) {
    it(`rejects ${what}, naming the store, the problem and the fix`, () => {
      assert.throws(() => parseState(text, 'state file /s.json'), (err) =>
        assertDamaged(err, 'state file /s.json is damaged', problem, 'restore it from a backup', 'move it aside'));
    });
  }

  it('lets a caller give its own advice', () => {
    assert.throws(() => parseState('[]', 'postgres table t', 'fix the row by hand'), (err) =>
      assertDamaged(err, 'postgres table t is damaged', 'fix the row by hand'));
  });
});

describe('fileStateStore', () => {
  it('describes itself by its path', () => {
    assert.equal(fileStateStore('/var/lib/x/state.json').describe(), '/var/lib/x/state.json');
  });

  it('reads a missing file as an empty state, creating nothing', async () => {
    const d = await dir();
    assert.deepEqual(await fileStateStore(join(d, 'sub', 'state.json')).read(), emptyState());
    assert.deepEqual(await readdir(d), []);
  });

  it('writes atomically: mode 0600, parent directories 0700, no temporary file left', async () => {
    const d = await dir();
    const path = join(d, 'a', 'b', 'state.json');
    const store = fileStateStore(path);
    await store.write(sample);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(d, 'a'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(d, 'a', 'b'))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(join(d, 'a', 'b')), ['state.json']);
    assert.equal(await readFile(path, 'utf8'), serializeState(sample));
    assert.deepEqual(await store.read(), sample);
  });

  it('replaces an existing state, making a loose existing mode 0600 again', async () => {
    const d = await dir();
    const path = join(d, 'state.json');
    await writeFile(path, serializeState(emptyState()), { mode: 0o644 });
    const store = fileStateStore(path);
    await store.write(sample);
    await store.write({ ...sample, lastGather: null });
    assert.deepEqual(await store.read(), { ...sample, lastGather: null });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(d), ['state.json']);
  });

  it('refuses a damaged file with exit 2, naming it, and leaves it untouched', async () => {
    const d = await dir();
    const path = join(d, 'state.json');
    const text = '{ "version": 1, "lastGather": null, "entries": { "jobs": "garbage" } }';
    await writeFile(path, text, { mode: 0o600 });
    const { mtimeMs } = await stat(path);
    await assert.rejects(fileStateStore(path).read(), (err) => assertDamaged(err, path, 'entries["jobs"]', 'move it aside'));
    assert.equal(await readFile(path, 'utf8'), text);
    assert.equal((await stat(path)).mtimeMs, mtimeMs);
    assert.deepEqual(await readdir(d), ['state.json']);
  });

  it('refuses an empty file (a reset is never silent)', async () => {
    const d = await dir();
    const path = join(d, 'state.json');
    await writeFile(path, '');
    await assert.rejects(fileStateStore(path).read(), (err) => assertDamaged(err, path, 'it is empty'));
    assert.equal(await readFile(path, 'utf8'), '');
  });

  it('refuses an unreadable state (a directory in its place) with exit 2, naming it', async () => {
    const d = await dir();
    const path = join(d, 'state.json');
    await mkdir(path);
    await assert.rejects(fileStateStore(path).read(), (err) => assertDamaged(err, path, 'cannot be read', 'EISDIR'));
  });

  it('fails a write it cannot make with an error naming the file, leaving no temporary file', async () => {
    const d = await dir();
    // A regular file where the parent directory should be: unlike permissions, this stops root too.
    await writeFile(join(d, 'blocker'), 'x');
    const path = join(d, 'blocker', 'state.json');
    await assert.rejects(fileStateStore(path).write(sample), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'FAILED');
      assert.match(err.message, /state file .*blocker\/state\.json could not be written/);
      return true;
    });
    assert.deepEqual(await readdir(d), ['blocker']);
  });

  it('leaves the old state and no temporary file when the rename fails', async () => {
    const d = await dir();
    const path = join(d, 'state.json');
    // A non-empty directory at the target makes rename() fail after the temporary file was written.
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'x');
    await assert.rejects(fileStateStore(path).write(sample), /could not be written/);
    assert.deepEqual(await readdir(d), ['state.json']);
    assert.deepEqual(await readdir(path), ['keep']);
  });

  it('reads from a read-only directory (reading needs no write access)', async () => {
    const d = await dir();
    const path = join(d, 'state.json');
    await fileStateStore(path).write(sample);
    await chmod(d, 0o500);
    try {
      assert.deepEqual(await fileStateStore(path).read(), sample);
    } finally {
      await chmod(d, 0o700);
    }
  });
});

describe('a state file that is a symbolic link', () => {
  it('keeps the link and replaces its target atomically, also through a chain of links and a dangling one', async () => {
    const d = await dir();
    await mkdir(join(d, 'real'));
    const target = join(d, 'real', 'state.json');
    await writeFile(target, serializeState(emptyState()));
    await symlink('real/state.json', join(d, 'hop.json'));
    const link = join(d, 'state.json');
    await symlink('hop.json', link);
    await fileStateStore(link).write(sample);
    assert.ok((await lstat(link)).isSymbolicLink(), 'the link stays');
    assert.ok((await lstat(join(d, 'hop.json'))).isSymbolicLink(), 'the middle link stays');
    assert.deepEqual(parseState(await readFile(target, 'utf8'), 'x'), sample);
    assert.deepEqual(await readdir(join(d, 'real')), ['state.json'], 'no temporary file left');

    const dangling = join(d, 'dangling.json');
    await symlink('real/new.json', dangling);
    await fileStateStore(dangling).write(sample);
    assert.ok((await lstat(dangling)).isSymbolicLink());
    assert.deepEqual(await fileStateStore(dangling).read(), sample);
  });
});

describe('checkPositions (positions in the future are damage)', () => {
  const now = new Date('2026-12-01T00:00:00.000Z');
  const state = (lastGather: string | null, entries: Record<string, string>): State => ({
    version: 1,
    lastGather: lastGather === null ? null : new Date(lastGather),
    entries: record(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, new Date(v)]))),
  });

  it('allows up to 5 minutes ahead', () => {
    checkPositions(state('2026-12-01T00:05:00.000Z', { jobs: '2026-12-01T00:05:00.000Z' }), now, 'state file /s.json');
  });

  it('names each key in the future and the fix', () => {
    assert.throws(
      () => checkPositions(state('2026-11-30T00:00:00.000Z', { host: '2031-01-01T00:00:00.000Z', jobs: '2026-11-30T00:00:00.000Z', a: '2026-12-01T00:05:01.000Z' }), now, 'state file /s.json'),
      (err) =>
        assertDamaged(
          err,
          'state file /s.json is damaged: entries["a"] is 2026-12-01T00:05:01.000Z, entries["host"] is 2031-01-01T00:00:00.000Z, more than 5 minutes in the future',
          'run `analytics-collect state set a DATE`, run `analytics-collect state set host DATE`',
          'e.g. 2026-12-01T00:00:00Z',
        ),
    );
  });

  it('names a lastGather in the future', () => {
    assert.throws(() => checkPositions(state('2030-01-01T00:00:00.000Z', {}), now, 'state file /s.json'), (err) =>
      assertDamaged(err, '"lastGather" is 2030-01-01T00:00:00.000Z, more than 5 minutes in the future', 'edit "lastGather"'),
    );
  });
});
