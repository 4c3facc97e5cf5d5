/**
 * The benchmark's deterministic table: integer id, ISO timestamp, uuid-like string, two words, a float — about
 * 93 bytes a row. Row `i` is a pure function of `i` (a hash, not a running PRNG), so a slice can make its rows
 * without making the ones before, and the text file and the row path carry exactly the same records.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync, renameSync } from 'node:fs';

export const COLUMNS = ['id', 'created', 'ref', 'label', 'amount'] as const;
export const HEADER = `${COLUMNS.join(',')}\n`;
/** Rows per block; day boundaries fall on block boundaries. */
export const BLOCK_ROWS = 1000;
export const DAYS = 10;
const BASE_MS = Date.UTC(2026, 0, 1);
const MS_PER_ROW = 7919;
const FORMAT_VERSION = 1;

const WORDS = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima',
  'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey',
  'xray', 'yankee', 'zulu', 'amber', 'basalt', 'cedar', 'dune', 'ember', 'fjord',
];
const HEX = '0123456789abcdef';

/** A row as a database driver would hand it over. */
export type Row = [number, Date, string, string, number];

/** A 32-bit mix of (i, salt): splitmix-style, good enough to look random and cheap to compute. */
function mix(i: number, salt: number): number {
  let x = (i * 0x9e3779b1 + salt * 0x85ebca77) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function hex8(x: number): string {
  let s = '';
  for (let k = 28; k >= 0; k -= 4) s += HEX[(x >>> k) & 15];
  return s;
}

export function row(i: number): Row {
  const a = mix(i, 1);
  const b = mix(i, 2);
  const c = mix(i, 3);
  const d = mix(i, 4);
  const e = mix(i, 5);
  const ref = `${hex8(a)}-${hex8(b).slice(0, 4)}-${hex8(b).slice(4)}-${hex8(c).slice(0, 4)}-${hex8(c).slice(4)}${hex8(d).slice(0, 4)}`;
  const label = `${WORDS[e & 31]} ${WORDS[(e >>> 5) & 31]}`;
  const amount = ((e >>> 10) % 10_000_000) / 100;
  return [i + 1, new Date(BASE_MS + i * MS_PER_ROW), ref, label, amount];
}

/** The CSV text of a row, as `COPY ... WITH CSV` would print it (no field here needs quotes). */
export function rowText(r: Row): string {
  return `${r[0]},${r[1].toISOString()},${r[2]},${r[3]},${r[4]}\n`;
}

/** A generated source file: its rows and where each day's rows start and end in it. */
export interface SourceTable {
  path: string;
  rows: number;
  bytes: number;
  headerBytes: number;
  /** Day d is rows [days[d].row, days[d+1].row), bytes [days[d].byte, days[d+1].byte); one extra entry at the end. */
  days: { row: number; byte: number }[];
  version: number;
}

/**
 * Makes (or reuses) a source CSV of at least `mib` MiB at `path`, with a `.json` description beside it.
 * The row count is a multiple of `DAYS × BLOCK_ROWS`, so the table splits into `DAYS` equal days.
 */
export function makeSource(path: string, mib: number): SourceTable {
  const metaPath = `${path}.json`;
  if (existsSync(metaPath) && existsSync(path)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as SourceTable;
    if (meta.version === FORMAT_VERSION && meta.path === path) return meta;
  }
  const target = mib * 1024 * 1024;
  const partial = `${path}.partial`;
  const fd = openSync(partial, 'w');
  const blockOffsets: number[] = [];
  let bytes = 0;
  let rows = 0;
  try {
    bytes += writeSync(fd, HEADER);
    while (bytes < target || rows % (DAYS * BLOCK_ROWS) !== 0) {
      blockOffsets.push(bytes);
      let text = '';
      for (let k = 0; k < BLOCK_ROWS; k++) text += rowText(row(rows + k));
      rows += BLOCK_ROWS;
      bytes += writeSync(fd, text);
    }
    blockOffsets.push(bytes);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
  const perDay = rows / DAYS;
  const days = Array.from({ length: DAYS + 1 }, (_, d) => ({ row: d * perDay, byte: blockOffsets[(d * perDay) / BLOCK_ROWS]! }));
  const meta: SourceTable = { path, rows, bytes, headerBytes: Buffer.byteLength(HEADER), days, version: FORMAT_VERSION };
  writeFileSync(metaPath, JSON.stringify(meta));
  return meta;
}
