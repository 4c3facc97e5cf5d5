/**
 * `analytics-collect state set KEY DATE` and `state reset KEY` (contract §7): change one key of the state so that
 * nobody edits the state file by hand. Under the run's lock (exit 3 while a gather holds it), written
 * atomically by the state store (JSON file or PostgreSQL table), printing old → new.
 */
import { loadCollectors } from '../../collect/load.js';
import { AppError, messageOf, usageError } from '../../errors.js';
import type { RunRecorder } from '../../history/recorder.js';
import { pgCoordination } from '../../postgres/coordination.js';
import { fileLocker, fileStateStore, parseDateFlag } from '../../state/index.js';
import type { Locker, State, StateStore } from '../../types.js';
import type { Outcome } from '../outcome.js';
import type { Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';
import { closest } from '../../collect/suggest.js';

/** How far ahead of the clock a DATE may be (the contract's tolerance for clocks that differ a little). */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/** One key's change, as printed and as `--json`. */
export interface StateChange {
  command: 'state set' | 'state reset';
  store: string;
  key: string;
  /** Each changed entry (the key, and for reset also `<key>_full`): ISO dates, null when absent. */
  changes: { key: string; old: string | null; new: string | null }[];
}

/** `signal` (SIGINT/SIGTERM) ends a wait on PostgreSQL at once (exit 130/143); a write cut short is rolled back. */
export async function stateSetCommand(
  key: string,
  date: string,
  flags: CommonFlags,
  out: Output,
  recorder?: RunRecorder,
  signal?: AbortSignal,
): Promise<Outcome> {
  const value = parseDateFlag('DATE', date);
  return changeState('state set', key, { flags, out, recorder, signal }, async (state, now) => {
    if (value.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
      throw usageError(
        `state set ${key}: ${value.toISOString()} is in the future (now is ${now.toISOString()}); a position may be at most 5 minutes ahead`,
      );
    }
    const entries = copyEntries(state.entries);
    entries[key] = value;
    return { ...state, entries };
  });
}

export async function stateResetCommand(key: string, flags: CommonFlags, out: Output, recorder?: RunRecorder, signal?: AbortSignal): Promise<Outcome> {
  return changeState('state reset', key, { flags, out, recorder, signal }, async (state) => {
    const entries = copyEntries(state.entries);
    delete entries[key];
    delete entries[`${key}_full`];
    return { ...state, entries };
  });
}

type Change = (state: State, now: Date) => Promise<State>;

interface ChangeContext {
  flags: CommonFlags;
  out: Output;
  recorder: RunRecorder | undefined;
  signal: AbortSignal | undefined;
}

async function changeState(command: StateChange['command'], key: string, context: ChangeContext, change: Change): Promise<Outcome> {
  const { flags, out, recorder, signal } = context;
  const { config } = await setup(flags, out, { defaultLevel: 'warn' });
  recorder?.useConfig(config); // the history entry (§7, §9) is written by main.ts once the exit status is known
  const coordination = pgCoordination(config.coordination, signal ? { signal } : {});
  const store: StateStore = coordination?.store ?? fileStateStore(config.stateFile);
  const locker: Locker = coordination?.locker ?? fileLocker(`${config.stateFile}.lock`);
  const lock = await locker.acquire();
  let result: StateChange;
  try {
    const state = await store.read();
    if (!Object.hasOwn(state.entries, key)) await checkKnownKey(command, key, config, state);
    // The cluster's clock (§8) when the store has one (PostgreSQL), else this machine's.
    const now = (await (store as { now?: () => Promise<Date> }).now?.()) ?? new Date();
    const next = await change(state, now);
    await store.write(next);
    result = { command, store: store.describe(), key, changes: changesOf(key, state, next) };
  } finally {
    await lock.release();
  }
  if (flags.json) out.result(JSON.stringify(result));
  else out.result(describeChange(result));
  return 'ok';
}

/** A KEY must be a collector's key or already in the state (contract §7); a typo is exit 2 with a suggestion. */
async function checkKnownKey(command: string, key: string, config: { collectors: string; collectorTimeoutMs: number }, state: State): Promise<void> {
  let keys: string[];
  try {
    keys = (await loadCollectors(config.collectors, { timeoutMs: config.collectorTimeoutMs })).map((l) => l.collector.key).filter((k) => k !== 'config');
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw usageError(
      `${command} ${key}: ${key} is not in the state, and the collectors cannot be loaded to check it (${messageOf(err)})`,
      err,
    );
  }
  if (keys.includes(key)) return;
  const known = [...new Set([...keys, ...Object.keys(state.entries)])].sort();
  const suggestion = closest(key, known);
  throw usageError(
    `${command}: unknown key ${key}${suggestion ? ` (did you mean ${suggestion}?)` : ''}; ` +
      `it is neither a collector's key nor in the state; known keys: ${known.join(', ') || 'none'}`,
  );
}

function copyEntries(entries: Record<string, Date>): Record<string, Date> {
  // Keys like `constructor` must work: no prototype.
  return Object.assign(Object.create(null) as Record<string, Date>, entries);
}

function changesOf(key: string, before: State, after: State): StateChange['changes'] {
  const iso = (state: State, k: string): string | null => (Object.hasOwn(state.entries, k) ? state.entries[k]!.toISOString() : null);
  return [key, `${key}_full`]
    .filter((k) => k === key || iso(before, k) !== iso(after, k))
    .map((k) => ({ key: k, old: iso(before, k), new: iso(after, k) }));
}

function describeChange({ store, changes }: StateChange): string {
  const lines = changes.map((c) => `${c.key}: ${c.old ?? '(none)'} → ${c.new ?? '(none)'}`);
  return [...lines, `state: ${store}`].join('\n');
}
