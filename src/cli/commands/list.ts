/**
 * `analytics-collect list`: the collectors a gather would run, in the order it runs them (contract §3).
 */
import { basename } from 'node:path';
import { loadCollectors } from '../../collect/load.js';
import { collectorRows, inRunOrder } from '../collector-rows.js';
import type { Outcome } from '../outcome.js';
import { table, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';

export async function listCommand(flags: CommonFlags, out: Output): Promise<Outcome> {
  const { config } = await setup(flags, out, { defaultLevel: 'warn' });
  // Without the module hooks when an earlier `list` relocated the modules (start-up time; collect/direct.ts).
  const loaded = await loadCollectors(config.collectors, { timeoutMs: config.collectorTimeoutMs, direct: true });
  const rows = collectorRows(inRunOrder(loaded));
  if (flags.json) {
    out.result(JSON.stringify({ collectors: config.collectors, list: rows }));
    return 'ok';
  }
  out.result(
    table(
      ['key', 'version', 'format', 'slicing', 'group', 'module', 'description'],
      rows.map((r) => [
        r.config ? `${r.key} (config)` : r.key,
        r.version,
        r.format,
        r.slicing ? (r.fullSyncIntervalDays ? `yes, full every ${r.fullSyncIntervalDays}d` : 'yes') : 'no',
        r.shippingGroup,
        `${basename(r.file)}#${r.export}`,
        r.description,
      ]),
    ),
  );
  return 'ok';
}
