/**
 * `check`'s report as text for a person: one section per question, problems named where they are found.
 */
import { basename } from 'node:path';
import type { CheckReport } from '../commands/check.js';
import { table } from '../output.js';

const NAME = 'analytics-collect';

export function describeCheck(report: CheckReport): string {
  const { config, settings, collectors, locations, state, lock, ship } = report;
  const lines: string[] = [];
  lines.push(
    config.file !== null
      ? `Config file: ${config.file}`
      : `Config file: no config found${config.searched ? ` (searched from ${config.searched.from} up to ${config.searched.to})` : ''}; run \`${NAME} init\``,
    '',
    'Settings:',
    table(['setting', 'value', 'from'], settings.map((s) => [s.key, s.value, s.source]), '  '),
    '',
  );

  lines.push(`Collectors (${collectors.dir}):`);
  if (collectors.error !== null) lines.push(`  PROBLEM: ${collectors.error}`);
  else {
    lines.push(
      table(
        ['key', 'version', 'format', 'slicing', 'module'],
        collectors.list.map((c) => [c.config ? `${c.key} (config)` : c.key, c.version, c.format, c.slicing ? 'yes' : 'no', `${basename(c.file)}#${c.export}`]),
        '  ',
      ),
    );
    if (collectors.skipped.length > 0) {
      lines.push('', 'Skipped:', table(['entry', 'why'], collectors.skipped.map((s) => [s.name, s.reason]), '  '));
    }
  }
  lines.push(
    '',
    'Locations:',
    table(
      ['location', 'path', ''],
      [
        ...locations.map((l) => [l.name, l.path, l.ok ? `ok: ${l.detail}` : `PROBLEM: ${l.detail}`]),
        ['state', state.store, state.ok ? `ok: ${state.detail}` : `PROBLEM: ${state.detail}`],
      ],
      '  ',
    ),
    '',
    `Lock: ${lock.held ? `held (not an error; a gather now would exit 3): ${lock.detail}` : lock.detail}`,
  );

  if (ship !== null) {
    lines.push('', 'Shipping:');
    if (ship.problem !== null) lines.push(`  PROBLEM: ${ship.problem}`);
    if (ship.detail?.url) lines.push(`  ingress: ${ship.detail.url}${ship.detail.proxy ? ` via proxy ${ship.detail.proxy}` : ''}`);
    if (ship.transport === 'packager') lines.push('  transport: the packager\'s ship()');
    lines.push(`  ${ship.verdict}`);
  }
  lines.push('', verdictLine(report));
  return lines.join('\n');
}

function verdictLine(report: CheckReport): string {
  switch (report.exitCode) {
    case 0:
      return report.ship === null
        ? `All fine. Before the first upload: ${NAME} check --ship`
        : report.ship.ok === null
          ? 'All fine (the transport itself was not checked).'
          : 'All fine: tonight\'s run should work.';
    case 1:
      return 'The connection test failed (exit 1): see Shipping above.';
    case 4:
      return 'Shipping is not configured (exit 4): see Shipping above.';
    default:
      return 'Problems found (exit 2): see PROBLEM above.';
  }
}
