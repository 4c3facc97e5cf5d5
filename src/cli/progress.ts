/**
 * The progress line `gather` shows on a terminal: which collector (and slice) runs, bytes collected, tarballs
 * written and shipped, time elapsed — one line on stderr, redrawn in place, erased before the summary.
 *
 * Split in three: `applyEvent` folds the pipeline's events into a state (pure), `formatProgress` turns a state and
 * an instant into the line (pure), and `ProgressDisplay` wires both to a timer and the terminal.
 */
import type { GatherEvent } from '../gather.js';
import { formatBytes, type Output } from './output.js';

/** A collector the run will call, in the order the pipeline calls them (json ones first, then csv). */
export interface PlannedCollector {
  key: string;
  sliced: boolean;
}

export interface ProgressState {
  mode: 'dry-run' | 'ship';
  /** When the run started (ms since the epoch). */
  startedAt: number;
  plan: readonly PlannedCollector[];
  /** Index in `plan` of the collector running now (or last); -1 before the first one. */
  position: number;
  /** The collection running now, or the one that just ended (`finished`); null before the first. */
  current: { key: string; since: Date; until: Date; slice: number; finished: boolean } | null;
  ok: number;
  empty: number;
  failed: number;
  /** Uncompressed data bytes collected so far (the config collector's output not counted). */
  bytes: number;
  written: number;
  shipped: number;
  uploadFailed: number;
}

const CONFIG_KEY = 'config';

/** The state before any event. */
export function initialProgress(plan: readonly PlannedCollector[], mode: 'dry-run' | 'ship', startedAt: number): ProgressState {
  return { mode, startedAt, plan, position: -1, current: null, ok: 0, empty: 0, failed: 0, bytes: 0, written: 0, shipped: 0, uploadFailed: 0 };
}

/** The state after `event`. Pure: returns a new state. */
export function applyEvent(state: ProgressState, event: GatherEvent): ProgressState {
  switch (event.type) {
    case 'collection-start': {
      if (event.key === CONFIG_KEY && state.position === -1) {
        return { ...state, current: { key: event.key, since: event.since, until: event.until, slice: 0, finished: false } };
      }
      const here = state.plan[state.position];
      // A sliced collector sends one start per slice; anything else moves on to the next collector with that key
      // (collectors whose window is empty are never called, so the position may jump).
      if (here !== undefined && here.sliced && here.key === event.key && state.current?.key === event.key) {
        const slice = event.slice ?? state.current.slice + 1;
        return { ...state, current: { key: event.key, since: event.since, until: event.until, slice, finished: false } };
      }
      const found = state.plan.findIndex((p, i) => i > state.position && p.key === event.key);
      const position = found === -1 ? state.position : found;
      const sliced = state.plan[position]?.sliced ?? false;
      const slice = sliced ? (event.slice ?? 1) : 0;
      return { ...state, position, current: { key: event.key, since: event.since, until: event.until, slice, finished: false } };
    }
    case 'collection-end': {
      const current = state.current ? { ...state.current, finished: true } : null;
      if (event.key === CONFIG_KEY && state.position === -1) return { ...state, current };
      return {
        ...state,
        current,
        bytes: state.bytes + event.bytes,
        ok: state.ok + (event.status === 'ok' ? 1 : 0),
        empty: state.empty + (event.status === 'empty' ? 1 : 0),
        failed: state.failed + (event.status === 'failed' ? 1 : 0),
      };
    }
    case 'tarball-written':
      return { ...state, written: state.written + 1 };
    case 'tarball-shipped':
      return event.ok ? { ...state, shipped: state.shipped + 1 } : { ...state, uploadFailed: state.uploadFailed + 1 };
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPINNER_FRAME_MS = 100;

/** 3_723_000 → "1:02:03", 65_000 → "1:05". */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const s = String(total % 60).padStart(2, '0');
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const isMidnight = (d: Date): boolean => d.getTime() % 86_400_000 === 0;

/** A window in few characters, UTC: `2026-11-03 → 2026-11-04`, or with times when either end is not midnight. */
export function formatWindow(since: Date, until: Date): string {
  const dateOnly = isMidnight(since) && isMidnight(until);
  const show = (d: Date): string => (dateOnly ? d.toISOString().slice(0, 10) : d.toISOString().slice(0, 16).replace('T', ' '));
  return `${show(since)} → ${show(until)}${dateOnly ? '' : ' UTC'}`;
}

type Style = 'dim' | 'key' | 'bad' | 'plain';
interface Segment {
  text: string;
  style: Style;
}

const STYLES: Record<Style, [string, string]> = {
  dim: ['\u001b[2m', '\u001b[22m'],
  key: ['\u001b[36m', '\u001b[39m'],
  bad: ['\u001b[31m', '\u001b[39m'],
  plain: ['', ''],
};

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** What runs now: the collector (with its slice) and, separately, its window, which goes first when space is short. */
function label(state: ProgressState): { what: Segment[]; window: Segment | null } {
  const { current, plan, position } = state;
  if (current === null) return { what: [{ text: 'starting…', style: 'plain' }], window: null };
  const isConfig = current.key === CONFIG_KEY && position === -1;
  // After the last collector (without slices: with them another slice may follow) only tarballs are left to close.
  if (current.finished && !isConfig && position === plan.length - 1 && !plan[position]?.sliced) {
    return { what: [{ text: state.mode === 'ship' ? 'writing and uploading tarballs…' : 'writing tarballs…', style: 'plain' }], window: null };
  }
  const what: Segment[] = [
    { text: isConfig ? '' : `[${position + 1}/${plan.length}] `, style: 'dim' },
    { text: current.key, style: 'key' },
    { text: current.slice > 0 ? ` slice ${current.slice}` : '', style: 'plain' },
  ];
  return { what, window: { text: ` ${formatWindow(current.since, current.until)}`, style: 'dim' } };
}

/**
 * The progress line at instant `now`, at most `width - 1` characters wide (the last column is left free: some
 * terminals wrap when it is written). Colours only when `color`.
 */
export function formatProgress(state: ProgressState, now: number, width: number, color: boolean): string {
  const elapsed = now - state.startedAt;
  const spinner = SPINNER[Math.floor(elapsed / SPINNER_FRAME_MS) % SPINNER.length]!;
  const sep: Segment = { text: ' · ', style: 'dim' };
  const { what, window } = label(state);
  const stats: Segment[] = [];
  const collections = state.ok + state.empty + state.failed;
  if (collections > 0) {
    stats.push(sep, { text: `${plural(collections, 'collection')}, ${formatBytes(state.bytes)}`, style: 'plain' });
    if (state.failed > 0) stats.push({ text: `, ${state.failed} failed`, style: 'bad' });
  }
  if (state.written > 0) {
    stats.push(sep, { text: `${plural(state.written, 'tarball')} written`, style: 'plain' });
    if (state.mode === 'ship') {
      const uploading = state.written - state.shipped - state.uploadFailed;
      stats.push({ text: `, ${state.shipped} shipped${uploading > 0 ? `, ${uploading} to upload` : ''}`, style: 'plain' });
    }
  }
  if (state.uploadFailed > 0) stats.push({ text: `, ${state.uploadFailed} upload${state.uploadFailed === 1 ? '' : 's'} failed`, style: 'bad' });
  const head: Segment = { text: `${spinner} ${formatElapsed(elapsed)}  `, style: 'dim' };
  const max = Math.max(10, width - 1);
  const full = [head, ...what, ...(window ? [window] : []), ...stats];
  // The window is the first thing to go on a narrow terminal; after that the end of the line is cut.
  return render(visibleLength(full) <= max ? full : [head, ...what, ...stats], max, color);
}

const visibleLength = (segments: readonly Segment[]): number => segments.reduce((n, s) => n + [...s.text].length, 0);

/** Joins segments, cutting at `max` visible characters with an ellipsis; colours wrap each segment. */
function render(segments: readonly Segment[], max: number, color: boolean): string {
  let out = '';
  let length = 0;
  for (const { text, style } of segments) {
    let piece = text;
    const chars = [...piece];
    if (length + chars.length > max) piece = `${chars.slice(0, Math.max(0, max - length - 1)).join('')}…`;
    length += [...piece].length;
    out += color && piece !== '' ? `${STYLES[style][0]}${piece}${STYLES[style][1]}` : piece;
    if (length >= max) break;
  }
  return out;
}

export interface ProgressDisplayOptions {
  plan: readonly PlannedCollector[];
  mode: 'dry-run' | 'ship';
  color: boolean;
  now?: () => number;
  /** How often the line is redrawn even without events (the clock and the spinner move); default 100 ms. */
  intervalMs?: number;
}

/** Events closer together than this redraw at the next tick instead: a run of 10 000 slices stays cheap. */
const MIN_REDRAW_MS = 50;

/** Shows the progress line while a gather runs. `start()` draws it, `stop()` erases it. */
export class ProgressDisplay {
  #state: ProgressState;
  #timer: NodeJS.Timeout | undefined;
  #lastDraw = Number.NEGATIVE_INFINITY;
  readonly #out: Output;
  readonly #options: ProgressDisplayOptions;
  readonly #now: () => number;

  constructor(out: Output, options: ProgressDisplayOptions) {
    this.#out = out;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#state = initialProgress(options.plan, options.mode, this.#now());
  }

  /** Pass as `gather({ onEvent })`. */
  readonly onEvent = (event: GatherEvent): void => {
    this.#state = applyEvent(this.#state, event);
    if (this.#timer !== undefined && this.#now() - this.#lastDraw >= MIN_REDRAW_MS) this.#draw();
  };

  start(): void {
    if (this.#timer !== undefined) return;
    this.#draw();
    // unref: a forgotten stop() must never keep the process alive.
    this.#timer = setInterval(() => this.#draw(), this.#options.intervalMs ?? SPINNER_FRAME_MS).unref();
  }

  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#out.status('');
  }

  #draw(): void {
    const now = this.#now();
    this.#lastDraw = now;
    this.#out.status(formatProgress(this.#state, now, this.#out.columns, this.#options.color));
  }
}
