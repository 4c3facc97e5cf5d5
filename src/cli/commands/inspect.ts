/**
 * `analytics-collect inspect TARBALL... [--cat MEMBER] [--json]`: members with sizes, the manifest and the
 * collection status rows of each tarball; or one member's bytes on stdout. Tarballs are read as streams:
 * nothing is unpacked, only the manifest and the status file (at most 16 MiB each) are held in memory.
 */
import { parse } from 'csv-parse/sync';
import { resolve } from 'node:path';
import { AppError, messageOf, usageError } from '../../errors.js';
import { readSmallMembers, streamMember } from '../../pack/read-tarball.js';
import type { TarballMember } from '../../pack/write-tarball.js';
import { MANIFEST_FILE, STATUS_FILE } from '../../pack/members.js';
import type { Outcome } from '../outcome.js';
import { formatBytes, table, type Output } from '../output.js';

/** The most a manifest or status file may inflate to (contract §7); a larger one is refused before it is read. */
export const META_LIMIT = 16 * 1024 * 1024;

export interface InspectFlags {
  json?: boolean;
  cat?: string;
}

export interface TarballReport {
  path: string;
  members: TarballMember[];
  manifest: Record<string, string> | null;
  status: Record<string, string>[];
}

export async function inspectCommand(files: string[], flags: InspectFlags, out: Output): Promise<Outcome> {
  if (flags.cat !== undefined) return catMember(files, flags.cat, out);
  const reports: TarballReport[] = [];
  // Every tarball is read before anything is printed: one that cannot be read is exit 2 with no half output.
  for (const file of files) reports.push(await inspectTarball(resolve(file)));
  if (flags.json) {
    // One tarball: the object of the first release; several: one array, an entry per tarball.
    out.result(JSON.stringify(reports.length === 1 ? reports[0] : reports));
    return 'ok';
  }
  out.result(reports.map(describe).join('\n\n'));
  return 'ok';
}

/** Reads one tarball's listing, manifest and status rows. */
export async function inspectTarball(path: string): Promise<TarballReport> {
  const { members, bytes } = await readSmallMembers(path, [MANIFEST_FILE, STATUS_FILE], META_LIMIT);
  const manifestBytes = bytes.get(MANIFEST_FILE);
  const statusBytes = bytes.get(STATUS_FILE);
  let manifest: Record<string, string> | null = null;
  let status: Record<string, string>[] = [];
  try {
    if (manifestBytes !== undefined) manifest = JSON.parse(manifestBytes.toString('utf8')) as Record<string, string>;
  } catch (err) {
    throw usageError(`${path}: its ${MANIFEST_FILE} is not valid JSON (${messageOf(err)}); is it a tarball written by analytics-collect?`, err);
  }
  try {
    if (statusBytes !== undefined) status = parse<Record<string, string>>(statusBytes.toString('utf8'), { columns: true });
  } catch (err) {
    throw usageError(`${path}: its ${STATUS_FILE} is not valid CSV (${messageOf(err)}); is it a tarball written by analytics-collect?`, err);
  }
  return { path, members, manifest, status };
}

function describe({ path, members, manifest, status }: TarballReport): string {
  const total = members.reduce((sum, m) => sum + m.size, 0);
  return [
    path,
    '',
    table(
      ['member', 'size', 'version'],
      members.map((m) => [m.name, formatBytes(m.size), manifest?.[m.name] ?? '']),
    ),
    `${members.length} members, ${formatBytes(total)} uncompressed`,
    '',
    status.length > 0
      ? table(
          ['file', 'status', 'since', 'until', 'started', 'elapsed'],
          status.map((r) => [r.file_name ?? '', r.status ?? '', r.since ?? '', r.until ?? '', r.collection_start_timestamp ?? '', `${r.elapsed ?? ''}s`]),
        )
      : `no ${STATUS_FILE}`,
  ].join('\n');
}

/** `--cat MEMBER`: the member's bytes, streamed to stdout. */
async function catMember(files: string[], member: string, out: Output): Promise<Outcome> {
  if (files.length !== 1) {
    throw usageError(`inspect --cat reads one member of one tarball; give one TARBALL (got ${files.length})`);
  }
  const path = resolve(files[0]!);
  const name = member.replace(/^(\.\/)+/, '');
  let found: boolean;
  let members: TarballMember[];
  try {
    ({ found, members } = await streamMember(path, name, out.stdout));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw usageError(`cannot read tarball ${path}: ${messageOf(err)}`, err);
  }
  if (!found) {
    throw usageError(`${path} has no member ${name}; its members are ${members.map((m) => m.name).join(', ') || 'none'}`);
  }
  return 'ok';
}
