/**
 * `analytics-collect inspect TARBALL`: members with sizes, the manifest and the collection status rows.
 */
import { parse } from 'csv-parse/sync';
import { resolve } from 'node:path';
import { AppError, messageOf, usageError } from '../../errors.js';
import { readTarball } from '../../pack/read-tarball.js';
import { MANIFEST_FILE, STATUS_FILE } from '../../pack/members.js';
import type { Outcome } from '../outcome.js';
import { formatBytes, table, type Output } from '../output.js';

export async function inspectCommand(file: string, flags: { json?: boolean }, out: Output): Promise<Outcome> {
  const path = resolve(file);
  let members: { name: string; size: number }[];
  let manifest: Record<string, string> | null = null;
  let status: Record<string, string>[] = [];
  try {
    const tarball = await readTarball(path);
    members = tarball.members;
    if (members.some((m) => m.name === MANIFEST_FILE)) {
      manifest = JSON.parse((await tarball.read(MANIFEST_FILE)).toString('utf8')) as Record<string, string>;
    }
    if (members.some((m) => m.name === STATUS_FILE)) {
      status = parse((await tarball.read(STATUS_FILE)).toString('utf8'), { columns: true }) as Record<string, string>[];
    }
  } catch (err) {
    if (err instanceof AppError) throw err; // already names the file and what is wrong
    throw usageError(`cannot read tarball ${path}: ${messageOf(err)} (is it a .tar.gz written by analytics-collect?)`, err);
  }
  if (flags.json) {
    out.result(JSON.stringify({ path, members, manifest, status }));
    return 'ok';
  }
  const total = members.reduce((sum, m) => sum + m.size, 0);
  out.result(
    [
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
        : 'no data_collection_status.csv',
    ].join('\n'),
  );
  return 'ok';
}
