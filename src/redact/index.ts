/**
 * Redaction (contract §10): the rules of `redact` applied to a collection's output after the collector returns and
 * before placement, replacing the collector's own files, so what is placed, measured, split, written, shipped,
 * inspected and reported is the redacted data.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { watchFinishedFiles } from '../collect/finished.js';
import { redactCsvFile } from './csv.js';
import { Hmac32, CachedHash } from './hmac.js';
import { redactJsonText } from './json.js';
import { redactCsvOffThread } from './off-thread.js';
import { rulesFor } from './rules.js';
import { RedactionError, type EffectiveRules, type RedactConfig, type RedactionSummary } from './types.js';

export { describeRules, rulesFor, type RuleDescription } from './rules.js';
export { RedactionError, type RedactionSummary, type EffectiveRules } from './types.js';

/** One file of a collection (the shape of `CollectedFile` in src/collect/run.ts). */
export interface RedactFile {
  /** Member name: `<key>.json` or `<key>.csv`. */
  name: string;
  file: string;
  size: number;
}

export interface RedactCollectionInput {
  key: string;
  format: 'json' | 'csv';
  files: readonly RedactFile[];
  redact: RedactConfig | null | undefined;
  /** Largest output file (the run's `maxDataSize`). */
  maxDataSize: number;
  /** The collection's own directory: the redacted files go into a fresh directory inside it. */
  outputDir: string;
  signal?: AbortSignal;
  /**
   * Told of each redacted CSV file as soon as it is complete (a hint, see src/collect/finished.ts): the run
   * deflates it while the rest of the collection is redacted. The redacted files are the ones placed.
   */
  onFileFinished?: (file: string, size: number) => void;
  /**
   * Told how much of a redacted CSV file being written is final (finished.ts): the run deflates it as it grows,
   * while it is still being redacted.
   */
  onFileGrown?: (file: string, size: number) => void;
  /**
   * CSV files from this size on are redacted on the redaction thread (off-thread.ts); default 1 MiB. Smaller ones
   * are redacted on the main thread: handing one to the thread (and starting it) costs more than it saves.
   */
  offThreadMinBytes?: number;
}

const OFF_THREAD_MIN_BYTES = 1024 * 1024;

export interface RedactCollectionResult {
  files: RedactFile[];
  /** null when no rule applies to the key (the files are then returned as they were). */
  redaction: RedactionSummary | null;
}

/**
 * Redacts a collection's files; the collector's files are removed as their redacted copies are made. Throws
 * {@link RedactionError} with a one-line reason when the collection must fail (a column the key's own rules
 * drop or hash is missing, CSV that cannot be read for sure); the caller removes what is left.
 */
export async function redactCollection(input: RedactCollectionInput): Promise<RedactCollectionResult> {
  const rules = rulesFor(input.redact, input.key);
  if (rules === null) return { files: [...input.files], redaction: null };
  const hmac = hmacFor(input, rules);
  const dir = await mkdtemp(join(input.outputDir, '.redacted-'));
  const unwatch = input.onFileFinished ? watchFinishedFiles(dir, input.onFileFinished, input.onFileGrown) : undefined;
  try {
    return await redactInto(dir, input, rules, hmac);
  } finally {
    unwatch?.();
  }
}

async function redactInto(dir: string, input: RedactCollectionInput, rules: EffectiveRules, hmac: Hmac32 | null): Promise<RedactCollectionResult> {
  const files: RedactFile[] = [];
  const dropped = new Set<string>();
  const hashed = new Set<string>();
  let masked = 0;
  for (const [index, file] of input.files.entries()) {
    if (input.signal?.aborted) throw input.signal.reason;
    const where = basename(file.file);
    if (input.format === 'json') {
      const target = join(dir, `${index}.json`);
      const { text, summary } = redactJsonText(await readFile(file.file, 'utf8'), rules, hmac === null ? null : new CachedHash(hmac));
      await writeFile(target, text, { mode: 0o600, flag: 'wx' });
      files.push({ name: file.name, file: target, size: Buffer.byteLength(text) });
      summary.dropped.forEach((n) => dropped.add(n));
      summary.hashed.forEach((n) => hashed.add(n));
      masked += summary.masked;
    } else {
      const target = join(dir, `${index}.csv`);
      const job = { source: file.file, target, maxFileSize: input.maxDataSize, rules, key: input.key, where };
      const result =
        file.size >= (input.offThreadMinBytes ?? OFF_THREAD_MIN_BYTES)
          ? await redactCsvOffThread({ ...job, hmacKey: hmac === null ? null : (input.redact?.key ?? null) }, input.signal)
          : await redactCsvFile({ ...job, hmac, ...(input.signal ? { signal: input.signal } : {}) });
      for (const path of result.files) files.push({ name: file.name, file: path, size: (await stat(path)).size });
      result.dropped.forEach((n) => dropped.add(n));
      result.hashed.forEach((n) => hashed.add(n));
      masked += result.masked;
    }
    await rm(file.file, { force: true });
  }
  const inOrder = (set: ReadonlySet<string>, seen: Set<string>): string[] => [...set].filter((n) => seen.has(n));
  return { files, redaction: { dropped: inOrder(rules.drop, dropped), hashed: inOrder(rules.hash, hashed), masked } };
}

function hmacFor(input: RedactCollectionInput, rules: EffectiveRules): Hmac32 | null {
  if (rules.hash.size === 0) return null;
  const key = input.redact?.key;
  if (!key) {
    throw new RedactionError(`redact.rules: hashing ${[...rules.hash].join(', ')} needs a key: set the environment variable ${input.redact?.keyEnv ?? 'ANALYTICS_REDACT_KEY'}`);
  }
  return new Hmac32(key);
}
