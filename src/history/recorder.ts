/**
 * What a `gather`, `ship` or `state set|reset` saw, gathered while it runs, and — once the CLI knows the exit
 * status — written as one history entry and (gather, ship) the metrics file (contract §9).
 *
 * The CLI entry creates one recorder per process and calls `finish()` in one place, however the command ended
 * (an error, a signal, a collector misbehaving). Commands only report what they know: the configuration, the
 * report, the state store (observed, for the keys' lag) and the collection events (for collector durations).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ResolvedConfig } from '../config/types.js';
import { messageOf } from '../errors.js';
import type { GatherEvent } from '../gather.js';
import { redactSecrets } from '../secrets/index.js';
import type { State, StateStore } from '../types.js';
import { historyEntry, type ReportFacts } from './entry.js';
import { historyStore } from './index.js';
import type { HistoryCommand, HistoryEntry, HistoryMode, HistoryStore } from './types.js';

export interface RecorderOptions {
  version: string;
  now?: () => Date;
  host?: string;
  pid?: number;
  /** Where warnings go (the history or metrics could not be written); never fatal. */
  warn: (text: string) => void;
}

export class RunRecorder {
  private command: HistoryCommand | null = null;
  private mode: HistoryMode = null;
  private readonly startedAt: Date;
  private config: ResolvedConfig | null = null;
  private report: ReportFacts | null = null;
  private state: State | null = null;
  private readonly errors: string[] = [];
  private readonly collecting = new Map<string, number[]>();
  private readonly collectorMs = new Map<string, number>();
  private readonly now: () => Date;

  constructor(private readonly options: RecorderOptions) {
    this.now = options.now ?? (() => new Date());
    this.startedAt = this.now();
  }

  /** The command that runs; only these are recorded. */
  begin(command: HistoryCommand, mode: HistoryMode): this {
    this.command = command;
    this.mode = mode;
    return this;
  }

  /** The run's configuration: where the history and the metrics file (`--metrics-file` resolved in) go. */
  useConfig(config: ResolvedConfig): void {
    this.config = config;
  }

  /** What the run did: a `gather` report, or the `ship` command's results as one. */
  useReport(report: ReportFacts): void {
    this.report = report;
  }

  /** The store, observed: the last state read or written gives each key's lag (dry runs too). */
  observe(store: StateStore): StateStore {
    const observed = Object.create(store) as StateStore;
    observed.read = async () => (this.state = await store.read());
    observed.write = async (state) => {
      await store.write(state);
      this.state = state;
    };
    return observed;
  }

  /** Collection events, for each collector's time (several collections of one key add up). */
  onEvent = (event: GatherEvent): void => {
    const at = this.now().getTime();
    if (event.type === 'collection-start') {
      this.collecting.set(event.key, [...(this.collecting.get(event.key) ?? []), at]);
    } else if (event.type === 'collection-end') {
      const starts = this.collecting.get(event.key) ?? [];
      const started = starts.shift();
      if (started !== undefined) this.collectorMs.set(event.key, (this.collectorMs.get(event.key) ?? 0) + at - started);
    }
  };

  /** The error that ended the command, as the CLI printed it. */
  noteError(message: string): void {
    this.errors.push(message);
  }

  /**
   * Writes the history entry and, for `gather` and `ship`, the metrics file. Never throws: a history that
   * cannot be written is a warning, and the exit status stays what the run earned.
   */
  async finish(exitCode: number, store?: HistoryStore): Promise<HistoryEntry | null> {
    const { command } = this;
    if (command === null || this.config === null) return null; // before the configuration was read: nowhere to write
    const config = boundAfterSignal(this.config, exitCode);
    const redact = this.redact;
    const entry = this.safeEntry(historyEntry(
      { command, mode: this.mode, startedAt: this.startedAt, finishedAt: this.now(), exitCode, report: this.report, errors: this.errors },
      { id: randomUUID(), host: this.options.host ?? hostname(), pid: this.options.pid ?? process.pid, version: this.options.version, redact },
    ));
    const history = store ?? historyStore(config);
    let recorded = true;
    try {
      await history.append(entry, config.historyKeep);
    } catch (err) {
      recorded = false;
      this.options.warn(`warning: the history could not be written to ${history.describe()}: ${redact(messageOf(err))}`);
    }
    const metricsFile = config.metricsFile;
    if (metricsFile !== null && (command === 'gather' || command === 'ship')) {
      try {
        await this.writeMetricsFile(metricsFile, entry, recorded ? history : null, config);
      } catch (err) {
        this.options.warn(`warning: the metrics file ${metricsFile} could not be written: ${redact(messageOf(err))}`);
      }
    }
    return entry;
  }

  private async writeMetricsFile(file: string, entry: HistoryEntry, history: HistoryStore | null, config: ResolvedConfig): Promise<void> {
    const past = history === null ? [] : await history.list(config.historyKeep).catch(() => []);
    const entries = past.some((e) => e.id === entry.id) ? past : [entry, ...past];
    const state = this.state ?? (await readStateQuietly(config));
    const tarballs = this.report?.tarballs ?? [];
    // prom-client costs ~0.4 s of start-up: loaded only by runs that write a metrics file.
    const { writeMetrics } = await import('../metrics/index.js');
    await writeMetrics(
      file,
      {
        history: entries,
        current: entry,
        bytes: {
          written: entry.command === 'gather' ? entry.bytes : 0,
          shipped: tarballs.filter((t) => t.shipped).reduce((sum, t) => sum + t.bytes, 0),
        },
        collectorSeconds: new Map([...this.collectorMs].map(([key, ms]) => [key, ms / 1000])),
        positions: positionsOf(state),
        now: this.now(),
        version: this.options.version,
      },
      this.redact,
    );
  }

  // Every secret the process registered (environment, configuration), in every encoding (src/secrets).
  private readonly redact = (text: string): string => redactSecrets(text);

  /** The whole line through the redaction too: a secret anywhere (a request id echoing one) is masked. */
  private safeEntry(entry: HistoryEntry): HistoryEntry {
    const text = JSON.stringify(entry);
    const masked = this.redact(text);
    if (masked === text) return entry;
    try {
      return JSON.parse(masked) as HistoryEntry;
    } catch {
      return { ...entry, requestIds: entry.requestIds.map(this.redact), errors: entry.errors.map(this.redact) };
    }
  }
}

/** After a signal the user wants the process gone: database waits of the record get a short bound. */
const SIGNAL_EXITS = new Set([129, 130, 143]);
const AFTER_SIGNAL_MS = 5000;

function boundAfterSignal(config: ResolvedConfig, exitCode: number): ResolvedConfig {
  if (!SIGNAL_EXITS.has(exitCode) || config.coordination.timeoutMs <= AFTER_SIGNAL_MS) return config;
  return { ...config, coordination: { ...config.coordination, timeoutMs: AFTER_SIGNAL_MS } };
}

/** Each key's position; `<key>_full` markers (reserved key suffix, §2) are not positions. */
export function positionsOf(state: State | null): Map<string, Date> {
  const positions = new Map<string, Date>();
  if (state === null) return positions;
  for (const [key, at] of Object.entries(state.entries)) if (!key.endsWith('_full')) positions.set(key, at);
  return positions;
}

/** The state for the metrics when the command did not read it (the `ship` command, an early error). */
async function readStateQuietly(config: ResolvedConfig): Promise<State | null> {
  const [{ pgCoordination }, { fileStateStore }] = await Promise.all([import('../postgres/coordination.js'), import('../state/file-store.js')]);
  const store = pgCoordination(config.coordination)?.store ?? fileStateStore(config.stateFile);
  return store.read().catch(() => null);
}
