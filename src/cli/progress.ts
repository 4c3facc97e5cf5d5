/**
 * The progress line `gather` shows on a terminal: which collectors (and slices) run — several at once with
 * `concurrency` — bytes collected, tarballs written, shipped and waiting to upload, time elapsed — one line on
 * stderr, redrawn in place, erased before the summary.
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

/** A collection running now. */
export interface RunningCollection {
  key: string;
  since: Date;
  until: Date;
  /** 1, 2, … for a sliced collector; 0 otherwise. */
  slice: number;
}

export interface ProgressState {
  mode: 'dry-run' | 'ship';
  /** When the run started (ms since the epoch). */
  startedAt: number;
  plan: readonly PlannedCollector[];
  /** Collectors of the plan started so far (a sliced one counts once). */
  started: number;
  /** Keys of the plan's collectors started so far. */
  startedKeys: ReadonlySet<string>;
  /** The last slice number seen per sliced key. */
  slices: ReadonlyMap<string, number>;
  /** Collections running now, in the order they started (several at once with `concurrency` > 1). */
  running: readonly RunningCollection[];
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
  return {
    mode,
    startedAt,
    plan,
    started: 0,
    startedKeys: new Set(),
    slices: new Map(),
    running: [],
    ok: 0,
    empty: 0,
    failed: 0,
    bytes: 0,
    written: 0,
    shipped: 0,
    uploadFailed: 0,
  };
}

/** The state after `event`. Pure: returns a new state. */
export function applyEvent(state: ProgressState, event: GatherEvent): ProgressState {
  switch (event.type) {
    case 'collection-start': {
      const planned = state.plan.some((p) => p.key === event.key);
      const sliced = state.plan.some((p) => p.key === event.key && p.sliced);
      const slice = sliced ? (event.slice ?? (state.slices.get(event.key) ?? 0) + 1) : 0;
      const running = [...state.running, { key: event.key, since: event.since, until: event.until, slice }];
      if (!planned) return { ...state, running }; // the config collector
      const first = !sliced || !state.startedKeys.has(event.key);
      return {
        ...state,
        running,
        started: first ? Math.min(state.plan.length, state.started + 1) : state.started,
        startedKeys: first ? new Set([...state.startedKeys, event.key]) : state.startedKeys,
        slices: sliced ? new Map([...state.slices, [event.key, slice]]) : state.slices,
      };
    }
    case 'collection-end': {
      const at = state.running.findIndex((r) => r.key === event.key);
      const running = at === -1 ? state.running : [...state.running.slice(0, at), ...state.running.slice(at + 1)];
      if (event.key === CONFIG_KEY && !state.plan.some((p) => p.key === CONFIG_KEY)) return { ...state, running };
      return {
        ...state,
        running,
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

/** How much of the line to show: each level drops one more kind of detail (see `formatProgress`). */
interface Level {
  window: boolean;
  detail: boolean;
  position: boolean;
  longCounts: boolean;
  slices: boolean;
  /** How many running collectors to name (the rest as "+N"); Infinity: all. */
  names: number;
}

const LEVELS: Level[] = [
  { window: true, detail: true, position: true, longCounts: true, slices: true, names: Infinity },
  { window: false, detail: true, position: true, longCounts: true, slices: true, names: Infinity },
  { window: false, detail: false, position: true, longCounts: true, slices: true, names: Infinity },
  { window: false, detail: false, position: false, longCounts: true, slices: true, names: Infinity },
  { window: false, detail: false, position: false, longCounts: false, slices: true, names: Infinity },
  { window: false, detail: false, position: false, longCounts: false, slices: false, names: Infinity },
  { window: false, detail: false, position: false, longCounts: false, slices: false, names: 2 },
  { window: false, detail: false, position: false, longCounts: false, slices: false, names: 1 },
  { window: false, detail: false, position: false, longCounts: false, slices: false, names: 0 },
];

/** What runs now: every running collector (with its slice; its window when it runs alone and there is room). */
function running(state: ProgressState, level: Level): Segment[] {
  const { running: now } = state;
  if (now.length === 0) {
    const done = state.ok + state.empty + state.failed > 0;
    const text = !done ? 'starting…' : state.mode === 'ship' ? 'writing and uploading tarballs…' : 'writing tarballs…';
    return [{ text, style: 'plain' }];
  }
  const segments: Segment[] = [];
  if (level.position && state.plan.length > 0 && state.started > 0) segments.push({ text: `[${state.started}/${state.plan.length}] `, style: 'dim' });
  const named = now.slice(0, level.names);
  named.forEach((r, i) => {
    if (i > 0) segments.push({ text: ', ', style: 'dim' });
    segments.push({ text: r.key, style: 'key' });
    if (r.slice > 0 && level.slices) segments.push({ text: ` slice ${r.slice}`, style: 'plain' });
  });
  const rest = now.length - named.length;
  if (rest > 0) segments.push({ text: named.length === 0 ? `${rest} running` : ` +${rest}`, style: 'plain' });
  if (level.window && now.length === 1) segments.push({ text: ` ${formatWindow(now[0]!.since, now[0]!.until)}`, style: 'dim' });
  return segments;
}

/** The counts that matter: tarballs written, shipped and waiting to upload, and failures. */
function counts(state: ProgressState, level: Level): Segment[] {
  const sep: Segment = { text: ' · ', style: 'dim' };
  const out: Segment[] = [];
  const collections = state.ok + state.empty + state.failed;
  if (level.detail && collections > 0) out.push(sep, { text: `${plural(collections, 'collection')}, ${formatBytes(state.bytes)}`, style: 'plain' });
  if (state.failed > 0) out.push(level.detail ? { text: `, ${state.failed} failed`, style: 'bad' } : { text: ` · ${state.failed} failed`, style: 'bad' });
  if (state.written > 0) {
    out.push(sep, { text: level.longCounts ? `${plural(state.written, 'tarball')} written` : `${state.written} written`, style: 'plain' });
    if (state.mode === 'ship') {
      const uploading = state.written - state.shipped - state.uploadFailed;
      out.push({ text: `, ${state.shipped} shipped${uploading > 0 ? `, ${uploading} to upload` : ''}`, style: 'plain' });
    }
  }
  if (state.uploadFailed > 0) out.push({ text: `, ${state.uploadFailed} upload${state.uploadFailed === 1 ? '' : 's'} failed`, style: 'bad' });
  return out;
}

/**
 * The progress line at instant `now`, at most `width - 1` characters wide (the last column is left free: some
 * terminals wrap when it is written). Colours only when `color`. On a narrow terminal detail goes first — the
 * window, then collections and bytes, then the `[n/total]` position, then words and slice numbers — and the
 * counts of tarballs written, shipped and to upload stay; the names of the running collectors go last ("name +N").
 */
export function formatProgress(state: ProgressState, now: number, width: number, color: boolean): string {
  const elapsed = now - state.startedAt;
  const spinner = SPINNER[Math.floor(elapsed / SPINNER_FRAME_MS) % SPINNER.length]!;
  const head: Segment = { text: `${spinner} ${formatElapsed(elapsed)}  `, style: 'dim' };
  const max = Math.max(10, width - 1);
  let line: Segment[] = [];
  for (const level of LEVELS) {
    line = [head, ...running(state, level), ...counts(state, level)];
    if (visibleLength(line) <= max) break;
  }
  return render(line, max, color);
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
