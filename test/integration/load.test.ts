import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCollectors, isCollectorFileName } from '../../src/collect/load.js';
import { AppError } from '../../src/errors.js';
import { workspace } from '../helpers/gather.js';

const HEADER = `import { register } from 'analytics-collect';\n`;
const CONFIG = `export const config = register({ key: 'config', version: '1.0', config: true }, async () => ({}));\n`;
const json = (exportName: string, key = exportName, extra = '') =>
  `export const ${exportName} = register({ key: '${key}', version: '1'${extra} }, async () => ({}));\n`;

test('file names the loader picks up', () => {
  const table: [string, boolean][] = [
    ['a.ts', true], ['a.mts', true], ['a.js', true], ['a.mjs', true],
    ['a.cjs', false], ['a.cts', false], ['_a.ts', false], ['.a.ts', false], ['a.d.ts', false], ['a.d.mts', false],
    ['a.test.ts', false], ['a.test.mjs', false], ['a.json', false], ['README.md', false],
  ];
  for (const [name, want] of table) assert.equal(isCollectorFileName(name), want, name);
});

test('order is files by name, then export names, in code-unit order; skipped files are not loaded', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  await ws.write('b.ts', HEADER + json('zeta') + json('Alpha') + json('beta'));
  await ws.write('a.mjs', HEADER + CONFIG + json('m'));
  await ws.write('C.js', HEADER + json('c'));
  const boom = `throw new Error('must not be loaded');\n`;
  await ws.write('_helper.ts', boom);
  await ws.write('.hidden.ts', boom);
  await ws.write('x.d.ts', 'export declare const x: number;\n');
  await ws.write('x.test.ts', boom);
  await ws.write('x.cjs', boom);
  await mkdir(join(ws.collectors, 'sub'));
  await writeFile(join(ws.collectors, 'sub', 'y.ts'), boom);
  const loaded = await loadCollectors(ws.collectors);
  assert.deepEqual(
    loaded.map((l) => `${l.file.split('/').at(-1)}#${l.exportName}`),
    ['C.js#c', 'a.mjs#config', 'a.mjs#m', 'b.ts#Alpha', 'b.ts#beta', 'b.ts#zeta'],
  );
});

test('modules load as ES modules whatever package.json surrounds them; TypeScript needs no build', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  await writeFile(join(ws.collectors, 'package.json'), JSON.stringify({ type: 'commonjs' }));
  await ws.write('_lib.ts', `export enum Kind { A = 'a' }\nexport const twice = (n: number): number => n * 2;\n`);
  await ws.write(
    'a.ts',
    HEADER +
      `import { twice, Kind } from './_lib.js';\ninterface Out { n: number; kind: Kind }\n` +
      CONFIG +
      `export const typed = register({ key: 'typed', version: '1' }, async (): Promise<Out> => ({ n: twice(21), kind: Kind.A }));\n`,
  );
  await ws.write('b.js', HEADER + `export const plain = register({ key: 'plain', version: '1' }, async () => ({ url: import.meta.url.length > 0 }));\n`);
  const loaded = await loadCollectors(ws.collectors);
  assert.deepEqual(loaded.map((l) => l.collector.key), ['config', 'typed', 'plain']);
  const typed = loaded[1]!.collector;
  assert.deepEqual(await typed.fn({} as never), { n: 42, kind: 'a' });
});

test('the same collector exported twice counts once', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  await ws.write('a.ts', HEADER + CONFIG + json('one', 'one') + `export const again = one;\n`);
  const loaded = await loadCollectors(ws.collectors);
  assert.deepEqual(loaded.map((l) => l.exportName), ['again', 'config']);
});

test('sliced collectors may share a key; unsliced ones may not', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  const sliced = ", format: 'csv', slicing: () => []";
  await ws.write('a.ts', HEADER + CONFIG + json('a1', 'jobs', sliced) + json('a2', 'jobs', sliced));
  assert.equal((await loadCollectors(ws.collectors)).length, 3);
  await ws.write('b.ts', HEADER + json('b', 'jobs'));
  await assert.rejects(loadCollectors(ws.collectors), (err: AppError) => {
    assert.equal(err.code, 'USAGE');
    assert.match(err.message, /duplicate key "jobs"/);
    assert.match(err.message, /b\.ts/);
    return true;
  });
});

test('problems are usage errors naming the file and the key', async () => {
  const cases: { name: string; files: Record<string, string>; message: RegExp }[] = [
    { name: 'syntax error', files: { 'a.ts': HEADER + CONFIG, 'bad.ts': 'export const = ;' }, message: /collector module .*bad\.ts failed to load/ },
    { name: 'no config collector', files: { 'a.ts': HEADER + json('a') }, message: /no config collector in/ },
    { name: 'two config collectors', files: { 'a.ts': HEADER + CONFIG, 'b.ts': HEADER + CONFIG }, message: /two config collectors: .*a\.ts.*b\.ts/ },
    { name: 'config collector as csv', files: { 'a.ts': HEADER + `export const config = register({ key: 'config', version: '1', config: true, format: 'csv' }, async () => null);\n` }, message: /a\.ts.*collector "config": the config collector must have format "json"/ },
    { name: 'bad key', files: { 'a.ts': HEADER + CONFIG + json('x', '../etc') }, message: /a\.ts.*collector "\.\.\/etc": key must match/ },
    { name: 'reserved key', files: { 'a.ts': HEADER + CONFIG + json('x', 'manifest') }, message: /a\.ts.*"manifest" is reserved/ },
    { name: 'reserved _full key', files: { 'a.ts': HEADER + CONFIG + json('x', 'jobs_full') }, message: /a\.ts.*"_full" are reserved/ },
    { name: 'unknown meta field', files: { 'a.ts': HEADER + CONFIG + json('x', 'x', ', slice: 1') }, message: /a\.ts.*unknown field "slice"/ },
    { name: 'missing directory', files: {}, message: /cannot read the collectors directory/ },
  ];
  for (const c of cases) {
    const ws = await workspace();
    try {
      for (const [name, text] of Object.entries(c.files)) await ws.write(name, text);
      const dir = Object.keys(c.files).length === 0 ? join(ws.dir, 'nope') : ws.collectors;
      await assert.rejects(loadCollectors(dir), (err: AppError) => {
        assert.equal(err.code, 'USAGE', c.name);
        assert.match(err.message, c.message, c.name);
        assert.ok(!err.message.includes('\n'), `${c.name}: one line`);
        return true;
      });
    } finally {
      await ws.cleanup();
    }
  }
});

/** A promise shared by the modules of a test, made by whichever module runs first: `await GATE.p` waits, `GATE.r()` opens. */
const gate = (name: string): string =>
  `const GATE = (globalThis[${JSON.stringify(name)}] ??= (() => { let r; const p = new Promise((resolve) => { r = resolve; }); return { p, r }; })());\n`;

test('modules load at once: one whose top-level code waits for another module loads', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  // a.mjs (first by name) waits at its top level for b.mjs's top-level code: loading one module after the other,
  // a.mjs would wait until its load timed out.
  await ws.write('a.mjs', HEADER + gate('__acLoadTestA') + CONFIG + `await GATE.p;\n` + json('a'));
  await ws.write('b.mjs', HEADER + gate('__acLoadTestA') + `GATE.r();\n` + json('b'));
  const loaded = await loadCollectors(ws.collectors, { timeoutMs: 60_000 });
  assert.deepEqual(loaded.map((l) => `${l.file.split('/').at(-1)}#${l.exportName}`), ['a.mjs#a', 'a.mjs#config', 'b.mjs#b']);
});

test('modules loading at once each report their own definition problems; the first file in order is named', async (t) => {
  const ws = await workspace();
  t.after(() => ws.cleanup());
  // b.mjs's bad definitions come while a.mjs still loads (a.mjs waits for b.mjs): they are b.mjs's, not a.mjs's.
  await ws.write('a.mjs', HEADER + gate('__acLoadTestB') + CONFIG + `await GATE.p;\n` + json('x', 'x', ', slice: 1'));
  await ws.write('b.mjs', HEADER + gate('__acLoadTestB') + json('y', 'manifest') + `GATE.r();\n` + json('z', 'jobs_full'));
  await assert.rejects(loadCollectors(ws.collectors, { timeoutMs: 60_000 }), (err: AppError) => {
    assert.equal(err.code, 'USAGE');
    assert.match(err.message, /^collector module .*a\.mjs: line 5: collector "x": unknown field "slice"/);
    assert.doesNotMatch(err.message, /manifest|_full/);
    return true;
  });
  // The same b.mjs after a good a.mjs (modules are cached by path: another folder).
  const other = await workspace();
  t.after(() => other.cleanup());
  await other.write('a.mjs', HEADER + CONFIG + json('x'));
  await other.write('b.mjs', HEADER + gate('__acLoadTestC') + json('y', 'manifest') + `GATE.r();\n` + json('z', 'jobs_full'));
  await assert.rejects(loadCollectors(other.collectors, { timeoutMs: 60_000 }), /collector module .*b\.mjs has 2 problems: line 3: collector "manifest".*; line 5: collector "jobs_full"/);
});
