/** A one-line message for anything thrown — also values that cannot be turned into a string. */
import { messageOf } from '../errors.js';

export function describeError(err: unknown): string {
  try {
    return messageOf(err) || 'an empty error';
  } catch {
    // e.g. a rejection with Object.create(null): no toString, no message.
    return `a value that is not an Error (${Object.prototype.toString.call(err)})`;
  }
}
