/**
 * The `gather` pipeline (contract §3–§5), read in the contract's order: order the collectors → collect (up to
 * `concurrency` at once) → place in plan order → close (write, ship, settle in the tarball queue) → advance the
 * state. The bookkeeping lives in the units of `src/run/`; this file only composes them. Everything the run
 * touches comes in as a parameter: clock, state store, shipper, logger, signal, lock.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { ResolvedConfig } from './config/types.js';
import type { LoadedCollector } from './collect/load.js';
import type { Collector } from './collect/register.js';
import { runCollection, type CollectionResult } from './collect/run.js';
import { messageOf } from './errors.js';
import { defaultTarballBase, TarballNamer, type StatusRow } from './pack/members.js';
import type { Packager } from './packager.js';
import { DeflateAhead } from './run/ahead.js';
import { Assembler, type TarballJob } from './run/assemble.js';
import { RunControl } from './run/control.js';
import type { GatherEvent } from './run/events.js';
import { RunFiles } from './run/files.js';
import { tarballIo, type WrittenTarball } from './run/io.js';
import { Ledger, LateTicket } from './run/ledger.js';
import { orderCollectors } from './run/order.js';
import { TarballQueue } from './run/queue.js';
import type { GatherReport } from './run/report.js';
import { StateSaver } from './run/saver.js';
import { inPlanOrder, type Delivery, type Window } from './run/schedule.js';
import { settlePolicy } from './run/settle.js';
import { advanceState, collectSlices, collectorWindow, resolveRunWindow, sliceRequest } from './state/index.js';
import type { RunWindow } from './state/window.js';
import type { HeldLock, Shipper, State, StateStore } from './types.js';

export type { GatherEvent } from './run/events.js';
export type { CollectionReport, GatherReport, TarballReport } from './run/report.js';

export interface GatherOptions {
  config: ResolvedConfig;
  collectors: readonly LoadedCollector[];
  mode: 'dry-run' | 'ship';
  /** `--keep`: keep shipped tarballs. */
  keep?: boolean;
  since?: Date;
  until?: Date;
  /** `--only`: the keys to gather (the config collector always runs). */
  only?: readonly string[];
  store: StateStore;
  /** Required for `ship` mode. */
  shipper?: Shipper;
  packager?: Packager | null;
  logger: Logger;
  signal: AbortSignal;
  /** The run's lock: when it is lost the run stops as if signalled and writes no state (§8). */
  lock?: HeldLock;
  /** The local clock; the store's clock (`store.now()`), when it has one, sets the run's `until`. */
  now?: () => Date;
  onEvent?: (event: GatherEvent) => void;
}

const MS_PER_SECOND = 1000;

/**
 * Runs one gather and returns its report, however it ends: a signal, a lost lock or an error after the start is
 * in `report.interrupted` / `report.fatal`, never thrown. Throws only before anything ran (the state cannot be
 * read, the window is a usage error). A ship run writes the state as it goes and once at its end.
 */
export async function gather(options: GatherOptions): Promise<GatherReport> {
  if (options.mode === 'ship' && !options.shipper) throw new Error('gather: ship mode needs a shipper');
  const state = ownEntries(await options.store.read());
  const now = options.now ?? (() => new Date());
  const start = options.store.now ? await options.store.now() : now();
  const window = resolveRunWindow({
    ...(options.since ? { since: options.since } : {}),
    ...(options.until ? { until: options.until } : {}),
    now: start,
    state,
  });
  for (const warning of window.warnings) options.logger.warn(warning);
  return new GatherRun(options, state, window, start, now).execute();
}

/** A collection's result with its claim on the ledger for a failure of its code after it returned. */
type Collected = CollectionResult & { ticket: LateTicket };

/** One run's parts, wired together; each method is one step of the contract. */
class GatherRun {
  private readonly control: RunControl;
  private readonly plan: Collector[];
  private readonly ledger: Ledger;
  private readonly saver: StateSaver | null;
  private readonly report: GatherReport;
  private files: RunFiles | null = null;
  private queue: TarballQueue<TarballJob, WrittenTarball> | null = null;
  private assembler: Assembler | null = null;
  private ahead: DeflateAhead | null = null;
  private gathered = false;

  constructor(
    private readonly options: GatherOptions,
    private readonly state: State,
    private readonly window: RunWindow,
    private readonly start: Date,
    private readonly now: () => Date,
  ) {
    this.control = new RunControl(options.signal, options.lock);
    this.plan = orderCollectors(options.collectors.map((l) => l.collector), options.only);
    this.ledger = new Ledger(this.plan.map((collector) => ({ collector, start: this.startOf(collector) })));
    this.saver =
      options.mode === 'ship'
        ? new StateSaver(state, {
            store: options.store,
            current: () => this.nextState(false),
            logger: options.logger,
            allowed: () => !this.control.lockLost,
          })
        : null;
    this.report = {
      mode: options.mode,
      since: window.since?.toISOString() ?? null,
      until: window.until.toISOString(),
      tarballs: [],
      collections: [],
      configError: null,
      fatal: null,
      interrupted: false,
      failed: false,
    };
  }

  async execute(): Promise<GatherReport> {
    let completed = false;
    try {
      this.files = await RunFiles.create(this.options.config.output, this.options.config.tmpDir);
      const configFile = await this.gatherConfig(this.files.dir);
      if (configFile !== null) {
        this.gathered = true;
        this.prepare(this.files, configFile, await TarballNamer.forDirectory(this.options.config.output));
        await this.gatherAll();
        if (!this.control.collectSignal.aborted) await this.assembler!.closeAll();
        completed = true;
      }
    } catch (err) {
      this.control.fail(err);
      this.options.logger.error(`the run stopped early: ${messageOf(err)}`);
    } finally {
      await this.finish(completed);
    }
    return this.report;
  }

  /** The config collector runs first, alone: its output goes into every tarball. Null when it produced nothing. */
  private async gatherConfig(workDir: string): Promise<{ file: string; version: string } | null> {
    const loaded = this.options.collectors.find((c) => c.collector.config);
    if (!loaded) throw new Error('gather: no config collector');
    const { collector } = loaded;
    const result = await this.collect(collector, { since: this.window.since ?? this.window.lastGather, until: this.window.until }, workDir);
    const { outcome } = result;
    if (outcome.status === 'ok') return { file: outcome.files[0]!.file, version: collector.version };
    this.report.configError = outcome.status === 'failed' ? outcome.error : 'returned nothing (null or undefined)';
    this.options.logger.error(`config collector ${this.report.configError}; no tarball written`);
    return null;
  }

  /** The tarball queue and the assembler that feeds it. */
  private prepare(files: RunFiles, configFile: { file: string; version: string }, namer: TarballNamer): void {
    const { config, mode, shipper, logger, onEvent } = this.options;
    this.ahead = new DeflateAhead({ dir: join(files.dir, 'ahead'), gzipLevel: config.gzipLevel, mtime: this.window.until, signal: this.control.collectSignal });
    const io = tarballIo({
      ahead: this.ahead,
      config: configFile,
      since: this.window.since,
      until: this.window.until,
      gzipLevel: config.gzipLevel,
      signal: this.control.shipSignal,
      writing: files.writing,
      shipper: mode === 'ship' ? shipper : undefined,
      logger,
      onEvent,
    });
    this.queue = new TarballQueue<TarballJob, WrittenTarball>({
      write: io.write,
      ...(io.ship ? { ship: io.ship, settle: settlePolicy({ keep: this.options.keep ?? false, output: config.output, keepFailed: config.ship.keepFailed }) } : {}),
      limit: Math.max(1, availableParallelism()),
      signal: this.control.shipSignal,
      onSettled: (id, tarball) => {
        if (!tarball.shipped) return;
        this.ledger.accept(id);
        this.saver?.poke();
      },
    });
    this.assembler = new Assembler({
      maxDataSize: config.maxDataSize,
      output: config.output,
      namer,
      base: (group) => this.tarballBase(group),
      ledger: this.ledger,
      queue: this.queue,
      logger,
    });
  }

  /** Every collector's collections, placed in plan order as they come. */
  private async gatherAll(): Promise<void> {
    const deliveries = inPlanOrder<Collector, Collected>({
      plan: this.plan,
      concurrency: concurrencyOf(this.options.config),
      windows: (collector, index) => this.windowsOf(collector, index),
      collect: async (collector, _index, w) => {
        const ticket = new LateTicket();
        const onLate = (message: string): void => {
          if (this.ledger.failLate(ticket, message)) this.saver?.poke();
        };
        return { ...(await this.collect(collector, w, this.files!.dir, onLate)), ticket };
      },
      stopped: () => this.control.collectSignal.aborted || this.queue!.halted !== null,
      now: this.now,
    });
    for await (const { index, delivery } of deliveries) await this.take(index, delivery);
  }

  /** One delivery of collector `index`, in plan order. */
  private async take(index: number, delivery: Delivery<Collected>): Promise<void> {
    const collector = this.plan[index]!;
    if (delivery.kind === 'done') {
      this.ledger.finish(index, delivery.complete, delivery.finishedAt);
      return;
    }
    if (delivery.kind === 'slicer-failed') {
      const since = this.ledger.startOf(index) ?? this.window.until;
      this.ledger.record(index, { since, until: this.window.until, status: 'failed', error: delivery.error });
      const at = this.now();
      this.pendingRow(collector, { collectionStart: at, since, until: this.window.until, fileName: fileOf(collector), status: 'failed', elapsed: 0 });
      this.options.logger.error({ collector: collector.key }, `collector "${collector.key}" failed: ${delivery.error}`);
      return;
    }
    const { window: w, result } = delivery;
    // Placed only once its files are all in tarballs (or its status row waits for one): a placement cut short
    // by an error must not count as accepted.
    const { outcome, ticket } = result;
    const entry = this.ledger.record(
      index,
      {
        since: w.since,
        until: w.until,
        status: outcome.status,
        error: outcome.status === 'failed' ? outcome.error : null,
        redaction: result.redaction,
      },
      false,
      ticket,
    );
    const row = (fileName: string, status: StatusRow['status']): StatusRow => ({
      collectionStart: result.startedAt,
      since: w.since,
      until: w.until,
      fileName,
      status,
      elapsed: Math.floor((result.finishedAt.getTime() - result.startedAt.getTime()) / MS_PER_SECOND),
    });
    if (this.control.collectSignal.aborted) return;
    if (outcome.status !== 'ok' || entry.status === 'failed') {
      // Its code failed after it returned, before its turn: nothing of it is packed, as for any failure.
      if (outcome.status === 'ok') void rm(result.outputDir, { recursive: true, force: true }).catch(() => undefined);
      this.pendingRow(collector, row(fileOf(collector), entry.status));
      entry.placed = true;
      return;
    }
    await this.assembler!.place(entry, collector, outcome.files, (name) => row(name, 'ok'));
    entry.placed = true;
    if (collector.slicing === undefined) return;
    // A slice's tarballs close at once; its files go once they are written.
    const { written } = await this.assembler!.closeFor(entry);
    void written.then(() => rm(result.outputDir, { recursive: true, force: true })).catch(() => undefined);
  }

  /** Drains the queue, cleans up, fills the report and saves the state: the one place a run ends. */
  private async finish(reachedEnd: boolean): Promise<void> {
    await this.queue?.drain();
    await this.ahead?.drain();
    // Reached its end: every collection placed and every tarball settled, with nothing stopping it on the way.
    const completed = reachedEnd && !this.control.collectSignal.aborted && this.queue?.halted === null;
    await this.files?.dispose().catch(() => undefined);
    this.control.dispose();
    const { report, ledger, assembler } = this;
    report.tarballs = assembler?.reports() ?? [];
    // The report and the final state are taken together from the sealed ledger: a failure of collector code
    // arriving later changes neither (it is shown and counted, exit 1).
    report.collections = ledger.report((id) => assembler?.pathOf(id) ?? '');
    const next = this.nextState(completed);
    ledger.seal();
    report.interrupted = this.control.interrupted;
    if (this.saver && this.gathered && !this.control.lockLost) {
      try {
        await this.saver.final(next);
      } catch (err) {
        this.control.fail(`the state could not be written (${this.options.store.describe()}): ${messageOf(err)}`);
      }
    } else await this.saver?.stop();
    report.fatal = this.control.fatal;
    if (report.fatal !== null) this.options.logger.error(report.fatal);
    const unsettled = report.tarballs.some((t) => t.disposition === 'unwritten' || (report.mode === 'ship' && !t.shipped));
    report.failed = report.configError !== null || report.fatal !== null || ledger.anyFailed() || unsettled;
  }

  private nextState(completed: boolean): State {
    return advanceState(this.state, {
      collectors: this.ledger.progress(),
      runUntil: this.window.until,
      completed,
      only: this.options.only !== undefined,
    });
  }

  /** The windows a collector gathers: its one window, or its slicer's slices (driven lazily). */
  private async *windowsOf(collector: Collector, index: number): AsyncGenerator<Window> {
    const { window, state } = this;
    if (collector.slicing === undefined) {
      const w = collectorWindow({ key: collector.key, since: window.since, until: window.until, lastGather: window.lastGather, state });
      if (w !== null) yield w;
      return;
    }
    const request = sliceRequest({
      key: collector.key,
      since: window.since,
      until: window.until,
      lastGather: window.lastGather,
      state,
      fullSyncIntervalDays: collector.fullSyncIntervalDays,
      now: this.start,
    });
    if (request.fullSync) this.ledger.fullSyncStarted(index, this.now());
    const slicing = {
      timeoutMs: this.options.config.collectorTimeoutMs,
      onLateFailure: (message: string) => {
        if (this.ledger.failCollectorLate(index, this.window.until, message)) this.saver?.poke();
      },
    };
    for await (const [since, until] of collectSlices(collector.slicing, request, this.control.collectSignal, slicing)) {
      yield { since, until };
    }
  }

  /** Runs one collection; whatever the collector does, resolves to an outcome. */
  private async collect(collector: Collector, w: Window, workDir: string, onLateFailure?: (message: string) => void): Promise<CollectionResult> {
    const { config, logger, mode, onEvent } = this.options;
    onEvent?.({ type: 'collection-start', key: collector.key, since: w.since, until: w.until });
    const startedAt = this.now();
    // Compress ahead: the big files of a collector without slicing wait for the end of the run to be placed, so
    // they deflate in the background meanwhile — each file as soon as the collector's splitter finished it, so a
    // big table is compressed while it is still being collected (a slice's tarballs close at once: nothing to
    // gain there).
    const ahead = this.ahead !== null && !collector.config && collector.slicing === undefined ? this.ahead : null;
    const early = ahead?.collection(`${collector.key}.csv`);
    const result = await runCollection({
      collector,
      ...(early ? { onFileFinished: early.finished, onFileGrown: early.grown } : {}),
      since: w.since,
      until: w.until,
      lastGather: this.window.lastGather,
      maxDataSize: config.maxDataSize,
      mode,
      workDir,
      timeoutMs: config.collectorTimeoutMs,
      logger: logger.child({ collector: collector.key }),
      signal: this.control.collectSignal,
      now: this.now,
      redact: config.redact,
      ...(onLateFailure ? { onLateFailure } : {}),
    }).catch((err: unknown): CollectionResult => ({
      outcome: { status: 'failed', error: messageOf(err) },
      startedAt,
      finishedAt: this.now(),
      outputDir: workDir,
      redaction: null,
    }));
    const { outcome } = result;
    if (early) await early.done(outcome.status === 'ok' ? outcome.files : []);
    const bytes = outcome.status === 'ok' ? outcome.files.reduce((sum, f) => sum + f.size, 0) : 0;
    if (outcome.status === 'failed' && !collector.config) logger.error({ collector: collector.key }, `collector "${collector.key}" failed: ${outcome.error}`);
    if (!collector.config) {
      onEvent?.({ type: 'collection-end', key: collector.key, status: outcome.status, bytes, ...(outcome.status === 'failed' ? { error: outcome.error } : {}) });
    }
    return result;
  }

  private async tarballBase(group: string): Promise<string> {
    const { packager } = this.options;
    if (!packager?.tarballBase) return defaultTarballBase(this.window.until);
    return packager.tarballBase({ since: this.window.since, until: this.window.until, shippingGroup: group });
  }

  private pendingRow(collector: Collector, row: StatusRow): void {
    this.ledger.addPendingRow(collector.shippingGroup, row);
  }

  /** Where a collector's window starts (for one that never runs); null when it is empty. */
  private startOf(collector: Collector): Date | null {
    const { window, state } = this;
    return collectorWindow({ key: collector.key, since: window.since, until: window.until, lastGather: window.lastGather, state })?.since ?? null;
  }
}

/** The state with entries that inherit nothing, whatever store it came from (a key may be `constructor`). */
function ownEntries(state: State): State {
  const entries = Object.create(null) as Record<string, Date>;
  for (const key of Object.keys(state.entries)) entries[key] = state.entries[key]!;
  return { ...state, entries };
}

const fileOf = (collector: Collector): string => `${collector.key}.${collector.format}`;

/** `concurrency` (contract §3); configs built by hand in tests may leave it out: the default, 4. */
function concurrencyOf(config: ResolvedConfig): number {
  return Number.isInteger(config.concurrency) && config.concurrency >= 1 ? config.concurrency : 4;
}
