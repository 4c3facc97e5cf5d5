/**
 * The fixed members of every tarball (contract §3): the status file, the manifest, and the tarball's name.
 */
import { readdir } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';

export type CollectionStatus = 'ok' | 'failed' | 'empty';

/** One row of `data_collection_status.csv`. */
export interface StatusRow {
  collectionStart: Date;
  since: Date;
  until: Date;
  /** `<key>.<format>`. */
  fileName: string;
  status: CollectionStatus;
  /** Whole seconds, rounded down. */
  elapsed: number;
}

export const STATUS_FILE = 'data_collection_status.csv';
export const MANIFEST_FILE = 'manifest.json';
export const CONFIG_FILE = 'config.json';
export const STATUS_VERSION = '1.0';
const STATUS_COLUMNS = ['collection_start_timestamp', 'since', 'until', 'file_name', 'status', 'elapsed'];

/** The status file's text: header, then one row per collection, LF line endings. */
export function statusCsv(rows: readonly StatusRow[]): string {
  return stringify(
    rows.map((r) => [
      r.collectionStart.toISOString(),
      r.since.toISOString(),
      r.until.toISOString(),
      r.fileName,
      r.status,
      String(r.elapsed),
    ]),
    { header: true, columns: STATUS_COLUMNS, record_delimiter: 'unix' },
  );
}

/** `{ "<member>": "<version>" }` for every member but the manifest itself, in member order. */
export function manifestJson(members: readonly { name: string; version: string }[], configVersion: string): string {
  const manifest: Record<string, string> = {};
  for (const m of members) manifest[m.name] = m.version;
  manifest[CONFIG_FILE] = configVersion;
  manifest[STATUS_FILE] = STATUS_VERSION;
  return JSON.stringify(manifest);
}

/** `analytics-YYYY-MM-DD-HHMMSS+0000` for the run's `until`, in UTC. */
export function defaultTarballBase(until: Date): string {
  const iso = until.toISOString(); // 2026-11-28T01:33:06.000Z
  return `analytics-${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}+0000`;
}

/** Hands out `<base>-<n>.tar.gz` names, skipping numbers already taken in the output directory. */
export class TarballNamer {
  private constructor(private readonly taken: Set<string>) {}

  static async forDirectory(dir: string): Promise<TarballNamer> {
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    return new TarballNamer(new Set(names));
  }

  next(base: string): string {
    for (let n = 0; ; n++) {
      const name = `${base}-${n}.tar.gz`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }
}
