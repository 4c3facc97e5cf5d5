/**
 * Reading history entries back (from a file line or a table row): only well-formed entries are returned.
 */
import type { HistoryEntry } from './types.js';

/** The entry a JSON text holds, or null when it is not one (damaged, or from an unknown writer). */
export function parseEntry(text: string): HistoryEntry | null {
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return isEntry(value) ? value : null;
}

export function isEntry(value: unknown): value is HistoryEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const obj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  return (
    typeof v.id === 'string' &&
    typeof v.command === 'string' &&
    typeof v.startedAt === 'string' &&
    typeof v.finishedAt === 'string' &&
    typeof v.exitCode === 'number' &&
    obj(v.collections) &&
    obj(v.tarballs) &&
    typeof v.bytes === 'number' &&
    Array.isArray(v.requestIds) &&
    Array.isArray(v.errors)
  );
}
