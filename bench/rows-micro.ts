/**
 * Main-thread cost of the row path, in CPU seconds (so it means something on a busy machine): making the
 * benchmark's rows, formatting them, and `await out.write(row)` into a CsvFileSplitter, for R rows.
 * `node --import tsx bench/rows-micro.ts [rows]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvFileSplitter } from '../src/collect/csv-splitter.js';
import { COLUMNS, row, rowText } from './data.js';

const rows = Number(process.argv[2] ?? 2_000_000);
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

let t = cpu();
let bytes = 0;
for (let i = 0; i < rows; i++) bytes += row(i)[2].length;
const make = cpu() - t;

t = cpu();
bytes = 0;
for (let i = 0; i < rows; i++) bytes += rowText(row(i)).length;
const text = cpu() - t;

const dir = mkdtempSync(join(tmpdir(), 'rows-micro-'));
t = cpu();
const start = Date.now();
const out = new CsvFileSplitter({ path: join(dir, 'x.csv'), maxFileSize: 100 * 1024 * 1024, columns: COLUMNS });
for (let i = 0; i < rows; i++) await out.write(row(i));
const files = await out.close();
const write = cpu() - t;
const wall = (Date.now() - start) / 1000;
rmSync(dir, { recursive: true, force: true });
const mib = bytes / 1024 / 1024;
console.log(
  `${rows} rows, ${mib.toFixed(1)} MiB: make ${make.toFixed(2)} cpu s; make+rowText ${text.toFixed(2)} cpu s; ` +
    `make+write ${write.toFixed(2)} cpu s (${(mib / write).toFixed(1)} MiB per cpu s, wall ${wall.toFixed(2)} s), ${files.length} files`,
);
