/**
 * Sources of collector modules for the fault e2e tests (written as `.mjs`, so no TypeScript transform is
 * needed). Collectors that must be caught in the act log a marker (`MARKER <name>`) through `ctx.logger`,
 * which the test waits for on the CLI's stderr.
 */

/** The marker a collector logs; wait for it with `run.waitForStderr(marker(name))`. */
export const marker = (name: string): string => `MARKER ${name}`;

const HEAD = `import { register } from 'analytics-collect';\n`;

/** A json collector returning `value`. */
export function jsonSource(key: string, value: unknown, options: { group?: string; exportName?: string } = {}): string {
  const group = options.group ? `, shippingGroup: ${JSON.stringify(options.group)}` : '';
  return `${HEAD}export const ${options.exportName ?? 'c'} = register({ key: ${JSON.stringify(key)}, version: '1.0'${group} }, async () => (${JSON.stringify(value)}));\n`;
}

/** A json collector that throws `message`. */
export function throwingSource(key: string, message: string): string {
  return `${HEAD}export const c = register({ key: ${JSON.stringify(key)}, version: '1.0' }, async () => { throw new Error(${JSON.stringify(message)}); });\n`;
}

/**
 * A json collector that logs its marker, then waits until `ctx.signal` aborts and rejects with its reason
 * (a well-behaved long collector).
 */
export function waitingSource(key: string, name: string): string {
  return `${HEAD}export const c = register({ key: ${JSON.stringify(key)}, version: '1.0' }, (ctx) => new Promise((resolve, reject) => {
  ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
  ctx.logger.warn(${JSON.stringify(marker(name))});
}));\n`;
}

/** A csv collector that hard-links `bigFile` (same file system) into its outputDir and returns it. */
export function linkedCsvSource(key: string, bigFile: string): string {
  return `${HEAD}import { link } from 'node:fs/promises';
import { join } from 'node:path';
export const c = register({ key: ${JSON.stringify(key)}, version: '1.0', format: 'csv' }, async (ctx) => {
  const file = join(ctx.outputDir, 'big.csv');
  await link(${JSON.stringify(bigFile)}, file);
  return file;
});\n`;
}

/** A csv collector writing `count` files of `size` bytes of incompressible text (hex) each. */
export function randomCsvSource(key: string, count: number, size: number, options: { group?: string } = {}): string {
  const group = options.group ? `, shippingGroup: ${JSON.stringify(options.group)}` : '';
  return `${HEAD}import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
export const c = register({ key: ${JSON.stringify(key)}, version: '1.0', format: 'csv'${group} }, async (ctx) => {
  const files = [];
  for (let i = 0; i < ${count}; i++) {
    const file = join(ctx.outputDir, ${JSON.stringify(key)} + '-' + i + '.csv');
    const body = randomBytes(Math.ceil(${size} / 2)).toString('hex').slice(0, ${size} - 1);
    await writeFile(file, body + '\\n');
    files.push(file);
  }
  return files;
});\n`;
}

/**
 * A json collector with one slice per day for the `days` days before `until` (slice i = [until - (days-i) d,
 * until - (days-i-1) d]). Slice number `waitOn` (0-based; -1 for none) logs its marker and waits for the
 * signal; every other slice returns `{ slice: i }`.
 */
export function slicedSource(key: string, days: number, waitOn = -1, name = `${key}-slice`): string {
  return `${HEAD}const DAY = 86400000;
let runUntil;
const slicing = function* ({ until }) {
  runUntil = until.getTime();
  for (let i = 0; i < ${days}; i++) yield [new Date(runUntil - (${days} - i) * DAY), new Date(runUntil - (${days} - i - 1) * DAY)];
};
export const c = register({ key: ${JSON.stringify(key)}, version: '1.0', slicing }, (ctx) => {
  const index = ${days} - Math.round((runUntil - ctx.since.getTime()) / DAY);
  if (index !== ${waitOn}) return { slice: index };
  return new Promise((resolve, reject) => {
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    ctx.logger.warn(${JSON.stringify(marker(name))});
  });
});\n`;
}
