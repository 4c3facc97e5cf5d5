/**
 * `analytics-collect state`: where each collector will continue from.
 */
import { pgCoordination } from '../../postgres/coordination.js';
import { fileStateStore } from '../../state/index.js';
import type { Outcome } from '../outcome.js';
import { table, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';

/** `signal` (SIGINT/SIGTERM) ends a wait on PostgreSQL at once: exit 130/143. */
export async function stateCommand(flags: CommonFlags, out: Output, signal?: AbortSignal): Promise<Outcome> {
  const { config } = await setup(flags, out, { defaultLevel: 'warn' });
  const store = pgCoordination(config.coordination, signal ? { signal } : {})?.store ?? fileStateStore(config.stateFile);
  signal?.throwIfAborted();
  const state = await store.read();
  const entries = Object.entries(state.entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (flags.json) {
    out.result(
      JSON.stringify({
        store: store.describe(),
        version: state.version,
        lastGather: state.lastGather?.toISOString() ?? null,
        entries: Object.fromEntries(entries.map(([k, v]) => [k, v.toISOString()])),
      }),
    );
    return 'ok';
  }
  const lines = [
    `state: ${store.describe()}`,
    `lastGather: ${state.lastGather?.toISOString() ?? 'never (the next run starts 4 weeks back)'}`,
  ];
  if (entries.length > 0) {
    lines.push('', table(['key', 'gathered until'], entries.map(([k, v]) => [k, v.toISOString()])));
  } else {
    lines.push('no entries yet');
  }
  out.result(lines.join('\n'));
  return 'ok';
}
