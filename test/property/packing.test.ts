/**
 * Packing invariants (contract §3), property-based: random collections — sizes, keys, shipping groups, with or
 * without slicing, some empty, some failing — go through the real `gather()` (dry run) into a temporary
 * directory with a small maxDataSize; every tarball is read back and checked:
 *
 * - every non-empty file is placed exactly once, nothing else is packed;
 * - no tarball's data exceeds maxDataSize unless it holds a single collection file bigger than that;
 * - shipping groups never mix, keys never repeat within a tarball;
 * - the manifest lists exactly the other members, with their versions;
 * - members are `./<data>…`, `./config.json`, `./data_collection_status.csv`, `./manifest.json`, in that order;
 * - and the tarballs (creation order, data members, status rows) are exactly what a small independent model of
 *   the packing rules predicts.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { list } from 'tar';
import type { LoadedCollector } from '../../src/collect/load.js';
import type { SlicingFunction } from '../../src/collect/register.js';
import { NOW, configCollector, loaded, runGather, sandbox, viewTarball } from '../helpers/fault-gather.js';

const DAY = 86_400_000;
const FIXED = ['config.json', 'data_collection_status.csv', 'manifest.json'];

/** What one collection (a whole window, or one slice) does. */
type Outcome = { kind: 'ok'; sizes: number[] } | { kind: 'empty' } | { kind: 'throw' };

interface Spec {
  key: string;
  format: 'json' | 'csv';
  group: string;
  /** One outcome without slicing; one per slice with. */
  sliced: boolean;
  outcomes: Outcome[];
}

interface Case {
  maxDataSize: number;
  specs: Spec[];
}

const ID_WIDTH = 6; // `F0001;`

const groupArb = fc.constantFrom('default', 'default', 'blue', 'green');

function outcomeArb(format: 'json' | 'csv', max: number): fc.Arbitrary<Outcome> {
  // Sizes straddle maxDataSize so that some files are oversized; csv files may be empty (0 bytes: skipped).
  // Exact fractions of maxDataSize make tarballs that fill up to the byte, to catch off-by-one room checks.
  const size = fc.oneof(
    fc.integer({ min: ID_WIDTH + 2, max }),
    fc.constantFrom(max, max - Math.floor(max / 2), Math.floor(max / 2), Math.floor(max / 4)),
    fc.integer({ min: max + 1, max: Math.floor(max * 1.6) }),
  );
  const csvSize = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: size });
  return fc.oneof(
    { weight: 6, arbitrary: format === 'json' ? size.map((s) => ({ kind: 'ok' as const, sizes: [s] })) : fc.array(csvSize, { minLength: 1, maxLength: 3 }).map((sizes) => ({ kind: 'ok' as const, sizes })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'throw' as const }) },
  );
}

const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 64, max: 400 }).chain((maxDataSize) =>
  fc
    .array(
      fc.record({ format: fc.constantFrom<'json' | 'csv'>('json', 'csv'), group: groupArb, sliced: fc.boolean(), sharedKey: fc.constantFrom('s0', 's1') }),
      { minLength: 1, maxLength: 5 },
    )
    .chain((shapes) =>
      fc.tuple(
        ...shapes.map((shape, i) =>
          fc
            .array(outcomeArb(shape.format, maxDataSize), { minLength: 1, maxLength: shape.sliced ? 3 : 1 })
            .map((outcomes): Spec => ({
              // Collectors with slicing may share a key; the others never do.
              key: shape.sliced ? shape.sharedKey : `k${i}`,
              format: shape.format,
              group: shape.group,
              sliced: shape.sliced,
              outcomes,
            })),
        ),
      ),
    )
    .map((specs) => ({ maxDataSize, specs })),
);

/** A produced file: its id (in its bytes), member name, size, group, key, version. */
interface Produced {
  id: string;
  name: string;
  key: string;
  size: number;
  group: string;
  version: string;
}

/** The collectors for a case, and the ids of the files they will produce in placement order. */
function build(c: Case): { collectors: LoadedCollector[]; files: Map<string, Produced> } {
  const files = new Map<string, Produced>();
  let next = 0;
  const collectors = c.specs.map((spec, index) => {
    const version = `${index}.0`;
    const ids = spec.outcomes.map((o) => (o.kind === 'ok' ? o.sizes.map(() => `F${String(next++).padStart(4, '0')};`) : []));
    spec.outcomes.forEach((o, slice) => {
      if (o.kind !== 'ok') return;
      o.sizes.forEach((size, f) => {
        if (size > 0) files.set(ids[slice]![f]!, { id: ids[slice]![f]!, name: `${spec.key}.${spec.format}`, key: spec.key, size, group: spec.group, version });
      });
    });
    const slices = spec.outcomes.length;
    const sliceOf = (since: Date): number => (spec.sliced ? slices - Math.round((NOW.getTime() - since.getTime()) / DAY) : 0);
    const slicing: SlicingFunction = function* () {
      for (let i = 0; i < slices; i++) yield [new Date(NOW.getTime() - (slices - i) * DAY), new Date(NOW.getTime() - (slices - i - 1) * DAY)] as const;
    };
    return loaded(
      {
        key: spec.key,
        version,
        format: spec.format,
        shippingGroup: spec.group,
        ...(spec.sliced ? { slicing } : {}),
      },
      async (ctx) => {
        const slice = sliceOf(ctx.since);
        const outcome = spec.outcomes[slice]!;
        if (outcome.kind === 'throw') throw new Error(`planned failure of ${spec.key} slice ${slice}`);
        if (outcome.kind === 'empty') return spec.format === 'json' ? null : [];
        if (spec.format === 'json') {
          const id = ids[slice]![0]!;
          return id + 'j'.repeat(outcome.sizes[0]! - 2 - id.length); // JSON adds two quotes
        }
        const paths: string[] = [];
        for (const [f, size] of outcome.sizes.entries()) {
          const path = join(ctx.outputDir, `part-${f}.csv`);
          const id = ids[slice]![f]!;
          await writeFile(path, size === 0 ? '' : (id + 'c'.repeat(Math.max(0, size - id.length))).slice(0, size));
          paths.push(path);
        }
        return paths;
      },
      `c${index}`,
    );
  });
  return { collectors, files };
}

interface ModelTarball {
  group: string;
  size: number;
  keys: Set<string>;
  members: string[];
  rows: string[];
  open: boolean;
}

/** An independent reading of the packing rules (contract §3): tarballs in creation order. */
function model(c: Case, files: Map<string, Produced>): ModelTarball[] {
  const tarballs: ModelTarball[] = [];
  const pending: { group: string; row: string }[] = [];
  const open = (group: string): ModelTarball => {
    const t: ModelTarball = { group, size: 0, keys: new Set(), members: [], rows: [], open: true };
    tarballs.push(t);
    return t;
  };
  const close = (closing: ModelTarball[], final: boolean): void => {
    const batch = closing.filter((t) => t.open).sort((a, b) => tarballs.indexOf(a) - tarballs.indexOf(b));
    for (const t of batch) {
      t.open = false;
      for (let i = 0; i < pending.length; ) {
        const p = pending[i]!;
        const sameGroupLater = batch.slice(batch.indexOf(t)).some((o) => o.group === p.group);
        if (p.group === t.group || (final && !sameGroupLater)) {
          t.rows.push(p.row);
          pending.splice(i, 1);
        } else i++;
      }
    }
  };
  const collect = (spec: Spec, outcome: Outcome, ids: string[]): ModelTarball[] => {
    const placed = ids.filter((id) => files.has(id));
    if (outcome.kind === 'throw' || placed.length === 0) {
      pending.push({ group: spec.group, row: `${spec.key}.${spec.format}:${outcome.kind === 'throw' ? 'failed' : 'empty'}` });
      return [];
    }
    const into: ModelTarball[] = [];
    for (const id of placed) {
      const f = files.get(id)!;
      const t =
        tarballs.find((o) => o.open && o.group === f.group && !o.keys.has(f.key) && o.size + f.size <= c.maxDataSize) ?? open(f.group);
      t.size += f.size;
      t.keys.add(f.key);
      t.members.push(id);
      t.rows.push(`${f.name}:ok`);
      if (!into.includes(t)) into.push(t);
    }
    return into;
  };
  // Ids in the order build() handed them out, per collector and slice.
  let next = 0;
  const idsOf = c.specs.map((spec) => spec.outcomes.map((o) => (o.kind === 'ok' ? o.sizes.map(() => `F${String(next++).padStart(4, '0')};`) : [])));
  const order = [...c.specs.keys()].sort((a, b) => Number(c.specs[a]!.format === 'csv') - Number(c.specs[b]!.format === 'csv') || a - b);
  for (const i of order) {
    const spec = c.specs[i]!;
    spec.outcomes.forEach((outcome, slice) => {
      const into = collect(spec, outcome, idsOf[i]![slice]!);
      if (spec.sliced) close(into, false);
    });
  }
  if (!tarballs.some((t) => t.open) && pending.length > 0) {
    for (const group of new Set(pending.map((p) => p.group))) open(group);
  }
  close(tarballs.filter((t) => t.open), true);
  return tarballs;
}

/** Entry names as tar itself lists them (`./name`). */
async function tarEntries(path: string): Promise<string[]> {
  const names: string[] = [];
  await list({ file: path, onReadEntry: (entry) => names.push(entry.path) });
  return names;
}

describe('packing invariants (property-based)', () => {
  it('holds for random collections, sizes, keys, groups and slicing', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const box = await sandbox();
        try {
          const { collectors, files } = build(c);
          const { report } = await runGather(box, [configCollector(), ...collectors], {
            config: box.config({ maxDataSize: c.maxDataSize }),
          });
          const expected = model(c, files);
          assert.equal(report.tarballs.length, expected.length, 'as many tarballs as the rules make');

          const seen = new Map<string, string>();
          for (const [n, t] of report.tarballs.entries()) {
            assert.match(basename(t.path), new RegExp(`-${n}\\.tar\\.gz$`), 'numbered in creation order');
            assert.equal(t.error, null);
            const view = await viewTarball(t.path);
            const entries = await tarEntries(t.path);
            assert.deepEqual(entries, view.names.map((name) => `./${name}`), 'entries are ./<name>');
            const data = view.names.slice(0, -FIXED.length);
            assert.deepEqual(view.names.slice(-FIXED.length), FIXED, 'config, status, manifest come last, in that order');

            // Which produced file each data member is.
            const produced: Produced[] = [];
            for (const name of data) {
              const text = await view.text(name);
              const id = text.replace(/^"/, '').slice(0, ID_WIDTH);
              const file = files.get(id);
              assert.ok(file, `${name} holds an unknown file ${id}`);
              assert.equal(file.name, name);
              assert.equal(Buffer.byteLength(text), file.size, `${name} keeps its bytes`);
              assert.ok(!seen.has(id), `${id} is placed twice (${seen.get(id)} and ${t.path})`);
              seen.set(id, t.path);
              produced.push(file);
            }
            const size = produced.reduce((sum, f) => sum + f.size, 0);
            assert.ok(size <= c.maxDataSize || produced.length === 1, `tarball ${n} holds ${size} bytes in ${produced.length} files`);
            assert.ok(new Set(produced.map((f) => f.group)).size <= 1, 'shipping groups never mix');
            assert.equal(new Set(produced.map((f) => f.key)).size, produced.length, 'keys never repeat within a tarball');

            const manifest = await view.manifest();
            assert.deepEqual(Object.keys(manifest).sort(), view.names.filter((m) => m !== 'manifest.json').sort(), 'manifest lists exactly the members');
            for (const f of produced) assert.equal(manifest[f.name], f.version);
            assert.equal(manifest['config.json'], '1.0');
            assert.equal(manifest['data_collection_status.csv'], '1.0');

            const model = expected[n]!;
            assert.deepEqual(produced.map((f) => f.id), model.members, `tarball ${n} holds what the packing rules say`);
            const rows = (await view.statusRows()).map((r) => `${r.file_name}:${r.status}`);
            assert.deepEqual([...rows].sort(), [...model.rows].sort(), `status rows of tarball ${n}`);
          }
          assert.deepEqual([...seen.keys()].sort(), [...files.keys()].sort(), 'every non-empty file is placed exactly once');
        } finally {
          await box.cleanup();
        }
      }),
      { numRuns: 30 },
    );
  });
});
