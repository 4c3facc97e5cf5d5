/** `analytics-collect check [--ship] [--json]` (contract §9). */
import { usageError } from '../../errors.js';
import type { Outcome } from '../outcome.js';
import type { Output } from '../output.js';
import type { CommonFlags } from '../setup.js';

export async function checkCommand(_flags: CommonFlags & { ship?: boolean }, _out: Output, _signal: AbortSignal): Promise<Outcome> {
  throw usageError('check: not built yet');
}
