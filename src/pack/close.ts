/**
 * Closing a tarball: its fixed members are written beside the data, then the `.tar.gz` (contract §3).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTarball, type DeflatedSegment } from './write-tarball.js';
import { CONFIG_FILE, MANIFEST_FILE, STATUS_FILE, manifestJson, statusCsv, type StatusRow } from './members.js';

export interface CloseInput {
  /** Final path of the tarball. */
  path: string;
  /** Data members in placement order: name without `./`, file on disk, collector version. */
  members: readonly { name: string; file: string; version: string; deflated?: DeflatedSegment | undefined }[];
  /** The config collector's output file and version. */
  config: { file: string; version: string };
  rows: readonly StatusRow[];
  /** Tar entries' mtime: the run's `until`. */
  mtime: Date;
  gzipLevel: number;
  /** Where the fixed members are staged (a directory of the run's temporary tree). */
  workDir: string;
  signal?: AbortSignal;
}

export interface ClosedTarball {
  path: string;
  bytes: number;
  members: { name: string; size: number }[];
}

/** Writes the tarball: data members, `config.json`, `data_collection_status.csv`, `manifest.json`, in that order. */
export async function closeTarball(input: CloseInput): Promise<ClosedTarball> {
  const stage = await mkdtemp(join(input.workDir, 'fixed-'));
  const statusFile = join(stage, STATUS_FILE);
  const manifestFile = join(stage, MANIFEST_FILE);
  await writeFile(statusFile, statusCsv(input.rows), { mode: 0o600 });
  await writeFile(manifestFile, manifestJson(input.members, input.config.version), { mode: 0o600 });
  const written = await writeTarball({
    path: input.path,
    members: [
      ...input.members.map((m) => ({ name: m.name, file: m.file, deflated: m.deflated })),
      { name: CONFIG_FILE, file: input.config.file },
      { name: STATUS_FILE, file: statusFile },
      { name: MANIFEST_FILE, file: manifestFile },
    ],
    mtime: input.mtime,
    gzipLevel: input.gzipLevel,
    ...(input.signal ? { signal: input.signal } : {}),
  });
  return { path: input.path, bytes: written.bytes, members: written.members };
}
