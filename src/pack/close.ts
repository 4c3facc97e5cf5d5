/**
 * Closing a tarball: the `.tar.gz` of the data members and its fixed members (contract §3). The fixed members
 * are small and made here, so they go in from memory: no staging files to write, read back and remove while
 * the run's last tarballs close.
 */
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
  signal?: AbortSignal;
}

export interface ClosedTarball {
  path: string;
  bytes: number;
  members: { name: string; size: number }[];
}

/** Writes the tarball: data members, `config.json`, `data_collection_status.csv`, `manifest.json`, in that order. */
export async function closeTarball(input: CloseInput): Promise<ClosedTarball> {
  const written = await writeTarball({
    path: input.path,
    members: [
      ...input.members.map((m) => ({ name: m.name, file: m.file, deflated: m.deflated })),
      { name: CONFIG_FILE, file: input.config.file },
      { name: STATUS_FILE, bytes: Buffer.from(statusCsv(input.rows), 'utf8') },
      { name: MANIFEST_FILE, bytes: Buffer.from(manifestJson(input.members, input.config.version), 'utf8') },
    ],
    mtime: input.mtime,
    gzipLevel: input.gzipLevel,
    ...(input.signal ? { signal: input.signal } : {}),
  });
  return { path: input.path, bytes: written.bytes, members: written.members };
}
