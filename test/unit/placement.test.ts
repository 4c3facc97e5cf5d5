import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place, type OpenTarballView } from '../../src/pack/placement.js';
import { Packer } from '../../src/pack/packer.js';

const open = (group: string, size: number, ...keys: string[]): OpenTarballView => ({ group, size, keys: new Set(keys) });

test('place: table of decisions', () => {
  const cases: { name: string; open: OpenTarballView[]; item: { key: string; group: string; size: number }; max: number; want: ReturnType<typeof place> }[] = [
    { name: 'nothing open', open: [], item: { key: 'a', group: 'default', size: 10 }, max: 100, want: { kind: 'new', oversized: false } },
    { name: 'fits the first', open: [open('default', 50, 'x')], item: { key: 'a', group: 'default', size: 50 }, max: 100, want: { kind: 'existing', index: 0 } },
    { name: 'exactly full is allowed', open: [open('default', 99, 'x')], item: { key: 'a', group: 'default', size: 1 }, max: 100, want: { kind: 'existing', index: 0 } },
    { name: 'no room', open: [open('default', 99, 'x')], item: { key: 'a', group: 'default', size: 2 }, max: 100, want: { kind: 'new', oversized: false } },
    { name: 'same key skips to the next', open: [open('default', 0, 'a'), open('default', 0, 'b')], item: { key: 'a', group: 'default', size: 1 }, max: 100, want: { kind: 'existing', index: 1 } },
    { name: 'other group never shared', open: [open('g1', 0)], item: { key: 'a', group: 'g2', size: 1 }, max: 100, want: { kind: 'new', oversized: false } },
    { name: 'first of its group with room', open: [open('g1', 0), open('g2', 90), open('g2', 10)], item: { key: 'a', group: 'g2', size: 20 }, max: 100, want: { kind: 'existing', index: 2 } },
    { name: 'oversized gets its own', open: [open('default', 0)], item: { key: 'a', group: 'default', size: 101 }, max: 100, want: { kind: 'new', oversized: true } },
    { name: 'zero-size item fits a full one', open: [open('default', 100, 'x')], item: { key: 'a', group: 'default', size: 0 }, max: 100, want: { kind: 'existing', index: 0 } },
  ];
  for (const c of cases) assert.deepEqual(place(c.open, c.item, c.max), c.want, c.name);
});

/** Places files of (key, sizes) in order with the Packer and returns each tarball's member keys and sizes. */
function distribute(max: number, items: [string, number][]): string[][] {
  const packer = new Packer(max);
  for (const [key, size] of items) packer.add({ key, group: 'default', size, name: `${key}.csv`, file: '' });
  return packer.tarballs.map((t) => t.members.map((m) => `${m.key}:${m.size}`));
}

test('reference distribution: 3×800 + 100 + 200 at 1000 → [800+100], [800+200], [800]', () => {
  assert.deepEqual(
    distribute(1000, [['big', 800], ['big', 800], ['big', 800], ['c1', 100], ['c2', 200]]),
    [['big:800', 'c1:100'], ['big:800', 'c2:200'], ['big:800']],
  );
});

test('reference distribution: one collector with 10 files of 1000 bytes at 1000 → 10 tarballs', () => {
  const tarballs = distribute(1000, Array.from({ length: 10 }, () => ['big', 1000] as [string, number]));
  assert.equal(tarballs.length, 10);
  for (const t of tarballs) assert.deepEqual(t, ['big:1000']);
});

test('closing keeps creation order and closed tarballs take nothing more', () => {
  const packer = new Packer(100);
  const a = packer.add({ key: 'a', group: 'default', size: 10, name: 'a.csv', file: '' }).tarball;
  const b = packer.add({ key: 'a', group: 'default', size: 10, name: 'a.csv', file: '' }).tarball;
  assert.deepEqual(packer.close([b, a]).map((t) => t.id), [0, 1]);
  const c = packer.add({ key: 'b', group: 'default', size: 10, name: 'b.csv', file: '' });
  assert.equal(c.opened, true);
  assert.equal(c.tarball.id, 2);
});
