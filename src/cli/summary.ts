/**
 * The human summary after `gather` and `ship`, on stderr.
 */
import type { GatherReport } from '../gather.js';
import { formatBytes, table, type Output } from './output.js';

export function printGatherSummary(report: GatherReport, out: Output): void {
  const lines: string[] = [];
  if (report.configError !== null) {
    lines.push(`The config collector failed: ${report.configError}. No tarball was written.`);
  }
  if (report.tarballs.length > 0) {
    const rows = report.tarballs.map((t) => [
      t.path,
      formatBytes(t.bytes),
      String(t.members.length),
      tarballState(t, report.mode),
    ]);
    lines.push(table(['tarball', 'size', 'members', report.mode === 'ship' ? 'shipped' : 'status'], rows));
  } else if (report.configError === null) {
    lines.push('No tarball: nothing to gather in this window.');
  }
  const failed = report.collections.filter((c) => c.status === 'failed');
  if (failed.length > 0) {
    lines.push('', 'Failed collections:');
    for (const c of failed) lines.push(`  ${c.key} (${c.since} – ${c.until}): ${c.error ?? 'failed'}`);
  }
  const ok = report.collections.filter((c) => c.status === 'ok').length;
  const empty = report.collections.filter((c) => c.status === 'empty').length;
  lines.push(
    '',
    `${report.mode === 'ship' ? 'Shipped run' : 'Dry run'}: ${report.collections.length} collections ` +
      `(${ok} ok, ${empty} empty, ${failed.length} failed), ${report.tarballs.length} tarballs, window until ${report.until}` +
      (report.interrupted ? ' — stopped by a signal' : ''),
  );
  out.note(lines.join('\n'));
}

function tarballState(t: GatherReport['tarballs'][number], mode: 'dry-run' | 'ship'): string {
  if (t.error !== null && !t.shipped) return mode === 'ship' ? `kept: ${t.error}` : `not written: ${t.error}`;
  if (mode === 'dry-run') return 'written';
  return t.requestId ? `yes (request ${t.requestId})` : 'yes';
}
