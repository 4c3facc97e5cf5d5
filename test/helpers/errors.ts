/** Assertions on the errors commands end with (contract §7). */
import assert from 'node:assert/strict';
import { AppError } from '../../src/errors.js';

/** Asserts a usage error (exit 2) on one line whose message contains every fragment; true, for `assert.throws`. */
export function assertUsageError(err: unknown, ...fragments: string[]): true {
  assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
  assert.equal(err.code, 'USAGE');
  assert.equal(err.exitCode, 2);
  assert.doesNotMatch(err.message, /\n/);
  for (const fragment of fragments) assert.ok(err.message.includes(fragment), `"${err.message}" should mention ${fragment}`);
  return true;
}
