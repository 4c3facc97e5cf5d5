/**
 * Fuzz (issue 12, "Also"): what a careless collector may return or throw. Every case ends as an outcome of
 * contract §2 — `ok` (the value written compactly as JSON), `empty` (null/undefined; `[]`/missing files for csv) or
 * `failed` with a one-line reason — never a throw out of `runCollection`, never "unexpected error", never a
 * control character. In process through the real runner, plus a few cases through the real CLI (exit 0 or 1).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { register } from '../../src/collect/register.js';
import { runCollection } from '../../src/collect/run.js';
import { cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fuzz-collector-values-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const cyclic = (): unknown => {
  const a: Record<string, unknown> = { name: 'a' };
  a['self'] = a;
  return a;
};
const throwingGetter = (): unknown =>
  Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('getter \u001b[31mfailed'); } });
const throwingToJson = (): unknown => ({ toJSON: () => { throw Object.create(null); } });
const hostileProxy = (): unknown => new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } });

/** Values a json collector may return: JSON-able ones, and the ones JSON.stringify chokes on. */
const jsonValue: fc.Arbitrary<() => unknown> = fc.oneof(
  fc.jsonValue().map((v) => () => v),
  fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withDate: true, withNullPrototype: true, withSparseArray: true }).map((v) => () => v),
  fc.constantFrom<() => unknown>(
    () => undefined,
    () => null,
    () => Symbol('s'),
    () => () => 1,
    () => 10n ** 30n,
    cyclic,
    throwingGetter,
    throwingToJson,
    hostileProxy,
    () => ({ ['__proto__']: { polluted: true } }),
    () => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{}}}') as unknown,
    () => '\u001b]52;c;AAAA\u0007',
  ),
);

/** How the collector ends: returning the value, or throwing/rejecting with something odd. */
const ending = fc.oneof(
  { weight: 4, arbitrary: jsonValue.map((make) => ({ kind: 'return' as const, make })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<() => unknown>(
        () => new Error('plain'),
        () => Object.create(null),
        () => undefined,
        () => null,
        () => 42,
        () => 'a string\nwith a line feed',
        () => Symbol('thrown'),
        () => ({ message: { not: 'a string' } }),
        () => new Error('\u001b[2J\u001b]0;title\u0007cleared'),
        hostileProxy,
      )
      .map((make) => ({ kind: 'throw' as const, make })),
  },
);

const logger = pino({ level: 'silent' });

describe('fuzz: what json collectors return or throw', () => {
  it('ends as ok, empty or failed with a one-line reason, never a throw', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(ending, async (end) => {
        const collector = register({ key: `fuzz${n++}`, version: '1.0' }, async () => {
          if (end.kind === 'throw') throw end.make();
          return end.make();
        });
        const result = await runCollection({
          collector,
          since: new Date('2026-11-01T00:00:00Z'),
          until: new Date('2026-11-02T00:00:00Z'),
          lastGather: new Date('2026-11-01T00:00:00Z'),
          maxDataSize: 1 << 20,
          mode: 'dry-run',
          workDir: root,
          timeoutMs: 10_000,
          logger,
          signal: new AbortController().signal,
        });
        const { outcome } = result;
        if (outcome.status === 'failed') {
          assert.ok(outcome.error.length > 0);
          assert.doesNotMatch(outcome.error, /[\u0000-\u001f\u007f-\u009f]/, `control character in ${JSON.stringify(outcome.error)}`);
          assert.doesNotMatch(outcome.error, /unexpected error/i);
          assert.equal(end.kind === 'throw' || outcome.error.length > 0, true);
        } else if (outcome.status === 'ok') {
          assert.equal(end.kind, 'return');
          assert.equal(outcome.files.length, 1);
          const text = await readFile(outcome.files[0]!.file, 'utf8');
          assert.doesNotThrow(() => JSON.parse(text) as unknown, 'what is written parses as JSON');
          assert.equal(outcome.files[0]!.size, Buffer.byteLength(text));
        } else {
          assert.equal(end.kind, 'return');
        }
        assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false, 'Object.prototype polluted');
        await rm(result.outputDir, { recursive: true, force: true });
      }),
      { numRuns: 300 },
    );
  });
});

describe('fuzz: odd values through the real CLI', () => {
  let project: Project;
  before(async () => {
    requireBuild();
    project = await makeProject();
  });
  after(() => project?.cleanup());

  const bodies = [
    'return 10n ** 30n;',
    'const a = {}; a.self = a; return a;',
    'throw Object.create(null);',
    "return { toJSON() { throw Symbol('x'); } };",
    "return JSON.parse('{\"__proto__\":{\"x\":1}}');",
    "throw new Error('\\u001b]52;c;AAAA\\u0007 clipboard');",
  ];
  for (const [i, body] of bodies.entries()) {
    it(`a collector doing \`${body}\` ends with exit 0 or 1 and a clean last line`, async () => {
      await project.collector(`20-odd.mjs`, `import { register } from 'analytics-collect';\nexport const odd = register({ key: 'odd${i}', version: '1.0' }, async () => { ${body} });\n`);
      const run = await cli(['gather', '--json'], { cwd: project.dir });
      assert.ok([0, 1].includes(run.code), `exit ${run.code}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /unexpected error|\u001b\]52/);
      const doc = JSON.parse(run.stdout) as { collections: { key: string; status: string; error: string | null }[] };
      const mine = doc.collections.find((c) => c.key === `odd${i}`);
      assert.ok(mine, 'the collection is reported');
      if (mine.status === 'failed') assert.match(mine.error ?? '', /^[^\n]+$/);
    });
  }
});
