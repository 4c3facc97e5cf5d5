/**
 * Fuzz (issue 12, "Also"): random configuration files and random state files. Every case ends either in a
 * configuration that loads, or in exit 2 with a message that names the file at fault — never "unexpected error",
 * never a stack, never a hang, never a secret, and for the state never its contents. In-process through the real
 * loaders (cosmiconfig, the JSON state store), plus a few cases through the real CLI. Bounded: the whole file takes
 * a few seconds.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfigWithSources } from '../../src/config/load.js';
import { configShape, coordinationShape, shipShape } from '../../src/config/schema.js';
import { AppError } from '../../src/errors.js';
import { checkPositions, fileStateStore, parseState, serializeState } from '../../src/state/file-store.js';
import type { State } from '../../src/types.js';
import { cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';

/** Planted in secret places and in unparseable text: must never appear in a message. */
const SECRET = 'Pl4nted-S3cret-Value';
const SECRET_KEYS = ['password', 'clientSecret', 'token', 'identity', 'username', 'clientId'];

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fuzz-config-state-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A random value of any JSON type, with the edge cases that broke things before. */
const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2147483647, 2147483648, 2592000000, 1e308, '', ' ', '__proto__', 'constructor', '(', '[', '\\', 'http://x', 'https://127.0.0.1/upload', SECRET, '\u0000', '\uFEFF', '😀'),
  fc.integer(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('a', 'pattern', 'drop', 'hash', 'mask', '__proto__', 'constructor'), fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxKeys: 3 }),
);

// Values of non-secret settings are shown in messages by design (`got "x y"`): plant the secret only where secrets go.
const pick = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys, 'typo', 'Collectors'), edgeValue.filter((v) => v !== SECRET), { maxKeys: 4 });

/** A configuration object shaped like the real one: known keys (and typos) with random values. */
const configObject = fc
  .record(
    {
      top: pick(Object.keys(configShape)),
      ship: fc.option(pick(Object.keys(shipShape)), { nil: undefined }),
      coordination: fc.option(pick(Object.keys(coordinationShape)), { nil: undefined }),
      redact: fc.option(
        fc.record({
          keyEnv: fc.option(fc.constantFrom('ANALYTICS_REDACT_KEY', 'MY KEY', '1X', ''), { nil: undefined }),
          rules: fc.dictionary(fc.constantFrom('*', 'events', 'constructor', '__proto__', 'bad key', ''), pick(['drop', 'hash', 'mask']), { maxKeys: 3 }),
        }),
        { nil: undefined },
      ),
      secrets: fc.boolean(),
    },
    { requiredKeys: ['top', 'secrets'] },
  )
  .map(({ top, ship, coordination, redact, secrets }) => {
    const config: Record<string, unknown> = { ...top };
    if (ship !== undefined) config.ship = { ...ship, ...(secrets ? Object.fromEntries(SECRET_KEYS.map((k, i) => [k, i % 2 ? SECRET : [SECRET]])) : {}) };
    if (coordination !== undefined) config.coordination = { ...coordination, ...(secrets ? { postgres: `postgres://u:${SECRET}@h/db?x=${SECRET}` } : {}) };
    if (redact !== undefined) config.redact = redact;
    return config;
  });

/** The text of a configuration file: JSON of such an object, damaged JSON, or anything at all. */
const configText = fc.oneof(
  { weight: 6, arbitrary: configObject.map((c) => JSON.stringify(c)) },
  { weight: 2, arbitrary: configObject.chain((c) => fc.nat().map((cut) => JSON.stringify(c).slice(0, cut % (JSON.stringify(c).length + 1)))) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `${s}${SECRET}${s}`) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', '[]', '{}', '\uFEFF{}', '"x"', '0', '{"a":1,}') },
);

function assertCleanMessage(err: unknown, file: string): void {
  assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
  assert.equal(err.exitCode, 2);
  assert.doesNotMatch(err.message, /unexpected error|\n\s+at |TypeError|ReferenceError/);
  for (const line of err.message.split('\n')) {
    assert.ok(line.includes(file), `the line does not name ${file}: ${line}`);
    // Unknown keys are named (§6), whatever they are (random text parses as YAML keys); values never are.
    if (!/ is not a known setting; /.test(line)) assert.ok(!line.includes(SECRET), `a secret in: ${line}`);
  }
}

describe('fuzz: configuration files', () => {
  it('load, or fail with exit 2 naming the file on every line, never a secret', async () => {
    await fc.assert(
      fc.asyncProperty(configText, fc.constantFrom('analytics.config.json', '.analyticsrc', '.analyticsrc.yaml'), fc.boolean(), async (text, name, given) => {
        const dir = join(root, `c${n++}`);
        await mkdir(join(dir, '.git'), { recursive: true });
        const file = join(dir, name);
        await writeFile(file, text);
        try {
          const loaded = await loadConfigWithSources({ cwd: dir, flags: given ? { config: name } : {}, env: { ANALYTICS_REDACT_KEY: 'k'.repeat(16) } });
          assert.equal(loaded.file, file);
        } catch (err) {
          assertCleanMessage(err, file);
        }
      }),
      { numRuns: 400 },
    );
  });
});

/** State-like text: valid states with odd keys and dates, damaged ones, anything. */
const isoDate = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const entryKey = fc.oneof(
  fc.constantFrom('jobs', 'jobs_full', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'k'.repeat(105), 'k'.repeat(106), '../x', '', '.x', `../${SECRET}`, `${SECRET} `),
  fc.string({ maxLength: 8 }),
);
const stateObject = fc.record({
  version: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: edgeValue }),
  lastGather: fc.oneof(fc.constant(null), isoDate, edgeValue),
  entries: fc.oneof({ weight: 8, arbitrary: fc.dictionary(entryKey, fc.oneof({ weight: 6, arbitrary: isoDate }, { weight: 1, arbitrary: edgeValue }), { maxKeys: 5 }) }, { weight: 1, arbitrary: edgeValue }),
  extra: fc.option(edgeValue, { nil: undefined }),
});
const stateText = fc.oneof(
  { weight: 6, arbitrary: stateObject.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: stateObject.map((s) => `\uFEFF${JSON.stringify(s)}`) },
  { weight: 2, arbitrary: stateObject.chain((s) => fc.nat().map((cut) => JSON.stringify(s).slice(0, cut % (JSON.stringify(s).length + 1)))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `${s}${SECRET}`) },
);

describe('fuzz: state files', () => {
  const NOW = new Date('2026-12-01T00:00:00Z');
  it('parse and pass the future check, or fail with exit 2 on one line naming the file, never quoting it', () => {
    fc.assert(
      fc.property(stateText, (text) => {
        const name = 'state file /var/lib/a/state.json';
        let state: State;
        try {
          state = parseState(text, name);
          checkPositions(state, NOW, name);
        } catch (err) {
          assertCleanMessage(err, name);
          assert.doesNotMatch((err as Error).message, /\n/);
          assert.ok((err as Error).message.startsWith(`${name} is damaged: `));
          return;
        }
        // What parses round-trips exactly, whatever the key names.
        const again = parseState(serializeState(state), name);
        assert.equal(Object.getPrototypeOf(again.entries), null);
        assert.deepEqual(Object.keys(again.entries).sort(), Object.keys(state.entries).sort());
        for (const key of Object.keys(state.entries)) assert.equal(again.entries[key]!.getTime(), state.entries[key]!.getTime());
      }),
      { numRuns: 3000 },
    );
  });

  it('write then read through the file store keeps every key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('jobs', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', `${'k'.repeat(100)}_full`), isoDate, { maxKeys: 7 }), async (raw) => {
        const store = fileStateStore(join(root, `s${n++}`, 'state.json'));
        const state = parseState(JSON.stringify({ version: 1, lastGather: null, entries: raw }), 'x');
        await store.write(state);
        const back = await store.read();
        assert.deepEqual(Object.keys(back.entries).sort(), Object.keys(state.entries).sort());
      }),
      { numRuns: 40 },
    );
  });
});

describe('fuzz: through the real CLI', () => {
  const projects: Project[] = [];
  before(() => requireBuild());
  after(async () => {
    await Promise.all(projects.map((p) => p.cleanup()));
  });

  it('a sample of random configurations and states ends with a contract exit code and a clean last line', async () => {
    const configs = fc.sample(configText, { numRuns: 4, seed: 12 });
    const states = fc.sample(stateText, { numRuns: 4, seed: 34 });
    for (const [i, configTextCase] of configs.entries()) {
      const p = await makeProject();
      projects.push(p);
      await writeFile(p.configFile, configTextCase);
      await p.writeState({ lastGather: null, entries: {} });
      await writeFile(p.stateFile, states[i]!);
      const run = await cli(['gather'], { cwd: p.dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ANALYTICS_REDACT_KEY: 'k'.repeat(16) } });
      assert.ok([0, 1, 2].includes(run.code), `exit ${run.code}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /unexpected error|\n\s+at /);
      assert.ok(!(run.stderr + run.stdout).includes(SECRET), run.stderr);
      if (run.code === 2) assert.match(run.stderr, new RegExp(`${p.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|tmpDir|output`));
    }
  });
});
