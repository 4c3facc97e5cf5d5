/**
 * The `gather` pipeline: collect → place → close (write, ship) → advance the state (contract §3–§5).
 * Everything it touches comes in as a parameter: clock, state store, shipper, logger, signal.
 */
import { availableParallelism } from 'node:os';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { ResolvedConfig } from './config/types.js';
import type { LoadedCollector } from './collect/load.js';
import type { Collector } from './collect/register.js';
import { runCollection, type CollectionResult } from './collect/run.js';
import type { RedactionSummary } from './redact/types.js';
import { Packer, type PlannedTarball } from './pack/packer.js';
import { CONFIG_FILE, MANIFEST_FILE, STATUS_FILE, TarballNamer, defaultTarballBase, type StatusRow } from './pack/members.js';
import { closeTarball } from './pack/close.js';
import type { Packager } from './packager.js';
import { settleTarball } from './ship/settle.js';
import { advanceState, collectSlices, collectorWindow, resolveRunWindow, sliceRequest } from './state/index.js';
import type { CollectionOutcome as StateCollection, FullSyncOutcome } from './state/index.js';
import type { ShipInfo, Shipper, State, StateStore } from './types.js';
import { messageOf } from './errors.js';

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
  now?: () => Date;
  onEvent?: (event: GatherEvent) => void;
}

/** Progress events, for a terminal display. */
export type GatherEvent =
  | { type: 'collection-start'; key: string; since: Date; until: Date; slice?: number }
  | { type: 'collection-end'; key: string; status: 'ok' | 'failed' | 'empty'; bytes: number; error?: string }
  | { type: 'tarball-written'; path: string; bytes: number }
  | { type: 'tarball-shipped'; path: string; ok: boolean; requestId?: string; error?: string };

export interface TarballReport {
  path: string;
  bytes: number;
  members: string[];
  shipped: boolean;
  requestId: string | null;
  error: string | null;
}

export interface CollectionReport {
  key: string;
  status: 'ok' | 'failed' | 'empty';
  since: string;
  until: string;
  tarballs: string[];
  error: string | null;
  /** What redaction (contract §10) did to the collection's output; null when no rule applies. */
  redaction: RedactionSummary | null;
}

export interface GatherReport {
  mode: 'dry-run' | 'ship';
  since: string | null;
  until: string;
  tarballs: TarballReport[];
  collections: CollectionReport[];
  /** Set when the config collector failed or produced nothing: no tarball was written. */
  configError: string | null;
  /** True when a signal stopped the run. */
  interrupted: boolean;
  /** True when any collection or upload failed (exit 1). */
  failed: boolean;
}

interface CollectionRecord {
  collector: Collector;
  since: Date;
  until: Date;
  status: 'ok' | 'failed' | 'empty';
  error: string | null;
  tarballs: PlannedTarball[];
  fullSync: boolean;
  redaction: RedactionSummary | null;
}

interface TarballRecord {
  planned: PlannedTarball;
  path: string;
  report: TarballReport;
  /** Data member versions by member position. */
  versions: string[];
  rows: StatusRow[];
  /** Settles when written (and shipped); never rejects. */
  done?: Promise<void>;
  accepted: boolean;
}

const MS_PER_SECOND = 1000;

/** Runs one gather. Throws only for problems of the run itself (state, disk); collectors and uploads fail softly. */
export async function gather(options: GatherOptions): Promise<GatherReport> {
  const { config, logger, signal, mode } = options;
  const now = options.now ?? (() => new Date());
  if (mode === 'ship' && !options.shipper) throw new Error('gather: ship mode needs a shipper');

  const state = await options.store.read();
  const window = resolveRunWindow({ ...pick(options), now: now(), state });
  for (const warning of window.warnings) logger.warn(warning);
  const { until, lastGather } = window;
  const report: GatherReport = {
    mode,
    since: window.since?.toISOString() ?? null,
    until: until.toISOString(),
    tarballs: [],
    collections: [],
    configError: null,
    interrupted: false,
    failed: false,
  };

  await mkdir(config.output, { recursive: true, mode: 0o700 });
  await mkdir(config.tmpDir, { recursive: true, mode: 0o700 });
  const runDir = await mkdtemp(join(config.tmpDir, 'analytics-collect-'));
  // A second SIGINT exits at once, skipping the `finally` below: still leave no temporary or partial file behind.
  const writing = new Set<string>();
  const cleanupOnExit = (): void => removeLeftovers(runDir, config.output, writing);
  process.once('exit', cleanupOnExit);
  const packer = new Packer(config.maxDataSize);
  const namer = await TarballNamer.forDirectory(config.output);
  const tarballs: TarballRecord[] = [];
  const records: CollectionRecord[] = [];
  const fullSyncs: FullSyncOutcome[] = [];
  const pendingRows: { group: string; row: StatusRow }[] = [];
  const inFlight = new Set<Promise<void>>();
  const limit = Math.max(1, availableParallelism());
  let uploads: Promise<void> = Promise.resolve();

  const collect = (collector: Collector, since: Date, windowUntil: Date): Promise<CollectionResult> => {
    options.onEvent?.({ type: 'collection-start', key: collector.key, since, until: windowUntil });
    return runCollection({
      collector,
      since,
      until: windowUntil,
      lastGather,
      maxDataSize: config.maxDataSize,
      mode,
      workDir: runDir,
      timeoutMs: config.collectorTimeoutMs,
      logger: logger.child({ collector: collector.key }),
      signal,
      now,
      redact: config.redact,
    });
  };

  try {
    const configLoaded = options.collectors.find((c) => c.collector.config);
    if (!configLoaded) throw new Error('gather: no config collector');
    const configResult = await collect(configLoaded.collector, window.since ?? lastGather, until);
    const configOutcome = configResult.outcome;
    if (configOutcome.status !== 'ok') {
      report.configError =
        configOutcome.status === 'failed' ? configOutcome.error : 'returned nothing (null or undefined)';
      report.failed = true;
      report.interrupted = signal.aborted;
      logger.error(`config collector ${report.configError}; no tarball written`);
      return report;
    }
    const configFile = { file: configOutcome.files[0]!.file, version: configLoaded.collector.version };

    /** Places one collection's files; returns the tarballs they went into. */
    const placeResult = async (record: CollectionRecord, result: CollectionResult): Promise<void> => {
      const { outcome } = result;
      record.redaction = result.redaction;
      const row = (fileName: string, status: StatusRow['status']): StatusRow => ({
        collectionStart: result.startedAt,
        since: record.since,
        until: record.until,
        fileName,
        status,
        elapsed: Math.floor((result.finishedAt.getTime() - result.startedAt.getTime()) / MS_PER_SECOND),
      });
      const { collector } = record;
      if (outcome.status !== 'ok') {
        record.status = outcome.status;
        record.error = outcome.status === 'failed' ? outcome.error : null;
        if (outcome.status === 'failed') logger.error({ collector: collector.key }, `collector "${collector.key}" failed: ${outcome.error}`);
        pendingRows.push({ group: collector.shippingGroup, row: row(`${collector.key}.${collector.format}`, outcome.status) });
        options.onEvent?.({ type: 'collection-end', key: collector.key, status: outcome.status, bytes: 0, ...(record.error ? { error: record.error } : {}) });
        return;
      }
      record.status = 'ok';
      let bytes = 0;
      for (const file of outcome.files) {
        bytes += file.size;
        const placed = packer.add({ key: collector.key, group: collector.shippingGroup, size: file.size, name: file.name, file: file.file });
        if (placed.oversized) {
          logger.warn(`${collector.key}: ${file.name} holds ${file.size} bytes, more than maxDataSize (${config.maxDataSize}); it gets a tarball of its own`);
        }
        if (placed.opened) await openRecord(placed.tarball, collector.shippingGroup);
        const tarball = tarballs[placed.tarball.id]!;
        tarball.versions.push(collector.version);
        tarball.rows.push(row(file.name, 'ok'));
        if (!record.tarballs.includes(placed.tarball)) record.tarballs.push(placed.tarball);
      }
      options.onEvent?.({ type: 'collection-end', key: collector.key, status: 'ok', bytes });
    };

    const openRecord = async (planned: PlannedTarball, group: string): Promise<void> => {
      const base = options.packager?.tarballBase
        ? await options.packager.tarballBase({ since: window.since, until, shippingGroup: group })
        : defaultTarballBase(until);
      const path = join(config.output, namer.next(base));
      tarballs[planned.id] = {
        planned,
        path,
        versions: [],
        rows: [],
        accepted: false,
        report: { path, bytes: 0, members: [], shipped: false, requestId: null, error: null },
      };
    };

    /** Closes tarballs (in creation order), handing pending status rows to them; returns when they are written. */
    const closeAll = async (closing: PlannedTarball[], final: boolean): Promise<Promise<void>[]> => {
      const tasks: Promise<void>[] = [];
      for (const planned of closing) {
        const record = tarballs[planned.id]!;
        for (let i = 0; i < pendingRows.length; ) {
          const pending = pendingRows[i]!;
          // The next tarball of the row's group; at the end, with none of its group left, the next one closed.
          const sameGroupLeft = closing.some((t) => t.id >= planned.id && t.group === pending.group);
          if (pending.group === planned.group || (final && !sameGroupLeft)) {
            record.rows.push(pending.row);
            pendingRows.splice(i, 1);
          } else i++;
        }
        while (inFlight.size >= limit) await Promise.race(inFlight);
        const task = writeAndShip(record);
        inFlight.add(task);
        void task.finally(() => inFlight.delete(task));
        tasks.push(task);
      }
      return tasks;
    };

    /** Writes the tarball; in ship mode uploads it after every earlier tarball's upload, in creation order. */
    const writeAndShip = (record: TarballRecord): Promise<void> => {
      const written = write(record);
      if (mode !== 'ship') return written.then(() => undefined);
      const upload = uploads.then(async () => {
        const info = await written;
        if (info === null) return;
        await ship(record, info).catch((err: unknown) => {
          record.report.error ??= messageOf(err);
          logger.error({ tarball: record.path }, `upload of ${info.fileName} failed: ${messageOf(err)}`);
        });
      });
      uploads = upload.catch(() => undefined);
      return upload;
    };

    const write = async (record: TarballRecord): Promise<ShipInfo | null> => {
      // Named before writing, so a tarball that cannot be written still says what it would have held.
      record.report.members = [...record.planned.members.map((m) => m.name), CONFIG_FILE, STATUS_FILE, MANIFEST_FILE];
      writing.add(record.path);
      try {
        signal.throwIfAborted();
        const closed = await closeTarball({
          path: record.path,
          members: record.planned.members.map((m, i) => ({ name: m.name, file: m.file, version: record.versions[i]! })),
          config: configFile,
          rows: record.rows,
          mtime: until,
          gzipLevel: config.gzipLevel,
          workDir: runDir,
          signal,
        });
        record.report.bytes = closed.bytes;
        record.report.members = closed.members.map((m) => m.name);
        options.onEvent?.({ type: 'tarball-written', path: record.path, bytes: closed.bytes });
        logger.info({ tarball: record.path, bytes: closed.bytes }, `wrote ${record.path}`);
        return {
          fileName: basename(record.path),
          bytes: closed.bytes,
          members: closed.members,
          since: window.since,
          until,
          shippingGroup: record.planned.group,
        };
      } catch (err) {
        record.report.error = signal.aborted ? 'stopped by a signal before it was written' : messageOf(err);
        logger.error({ tarball: record.path }, `tarball ${record.path} not written: ${record.report.error}`);
        return null;
      } finally {
        writing.delete(record.path);
      }
    };

    const ship = async (record: TarballRecord, info: ShipInfo): Promise<void> => {
      const result = await options.shipper!.send(record.path, info, signal);
      record.accepted = result.status === 'sent';
      record.report.shipped = record.accepted;
      if (result.status === 'sent') {
        record.report.requestId = result.requestId ?? null;
        logger.info({ tarball: record.path, requestId: result.requestId }, `shipped ${info.fileName}`);
      } else {
        record.report.error = result.error;
        logger.error({ tarball: record.path }, `upload of ${info.fileName} failed: ${result.error}`);
      }
      options.onEvent?.({ type: 'tarball-shipped', path: record.path, ok: record.accepted, ...(result.status === 'sent' && result.requestId ? { requestId: result.requestId } : {}), ...(result.status !== 'sent' ? { error: result.error } : {}) });
      const settled = await settleTarball(record.path, record.accepted, {
        keep: options.keep ?? false,
        output: config.output,
        keepFailed: config.ship.keepFailed,
      });
      if (settled.path !== null) record.report.path = settled.path;
    };

    // Collections are placed json first, then csv, each in collector order.
    const only = options.only ? new Set(options.only) : null;
    const chosen = options.collectors
      .map((l) => l.collector)
      .filter((c) => !c.config && (only === null || only.has(c.key)));
    const ordered = [...chosen.filter((c) => c.format === 'json'), ...chosen.filter((c) => c.format === 'csv')];

    for (const collector of ordered) {
      if (signal.aborted) break;
      if (collector.slicing === undefined) {
        const w = collectorWindow({ key: collector.key, since: window.since, until, lastGather, state });
        if (w === null) {
          logger.debug(`${collector.key}: nothing to gather (its window ends before it starts)`);
          continue;
        }
        const record = newRecord(collector, w.since, w.until, false);
        records.push(record);
        await placeResult(record, await collect(collector, w.since, w.until));
        continue;
      }
      await gatherSliced(collector);
    }

    async function gatherSliced(collector: Collector): Promise<void> {
      const request = sliceRequest({
        key: collector.key,
        since: window.since,
        until,
        lastGather,
        state,
        fullSyncIntervalDays: collector.fullSyncIntervalDays,
        now: now(),
      });
      let complete = false;
      let finishedAt = now();
      try {
        for await (const [sliceSince, sliceUntil] of collectSlices(collector.slicing!, request, signal)) {
          const record = newRecord(collector, sliceSince, sliceUntil, request.fullSync);
          records.push(record);
          const result = await collect(collector, sliceSince, sliceUntil);
          await placeResult(record, result);
          finishedAt = result.finishedAt;
          // A slice's tarballs close at once; its files go when they are written.
          const written = await closeAll(packer.close(record.tarballs), false);
          void Promise.all(written).then(() => rm(result.outputDir, { recursive: true, force: true })).catch(() => undefined);
          if (signal.aborted) return;
        }
        complete = !signal.aborted;
      } catch (err) {
        if (signal.aborted) return;
        const start = collectorWindow({ key: collector.key, since: window.since, until, lastGather, state })?.since ?? until;
        const record = newRecord(collector, start, until, request.fullSync);
        record.status = 'failed';
        record.error = messageOf(err);
        records.push(record);
        logger.error({ collector: collector.key }, `collector "${collector.key}" failed: ${record.error}`);
        pendingRows.push({
          group: collector.shippingGroup,
          row: { collectionStart: now(), since: start, until, fileName: `${collector.key}.${collector.format}`, status: 'failed', elapsed: 0 },
        });
      } finally {
        if (request.fullSync) fullSyncs.push({ key: collector.key, complete, finishedAt });
      }
    }

    if (!signal.aborted) {
      const open = packer.openTarballs();
      if (open.length === 0 && pendingRows.length > 0) {
        // Status rows with no tarball to ride in get one holding only the fixed members.
        for (const group of new Set(pendingRows.map((p) => p.group))) {
          await openRecord(packer.openEmpty(group), group);
        }
      }
      await closeAll(packer.close(packer.openTarballs()), true);
    }
    await Promise.all(inFlight);
    await uploads;
  } finally {
    await Promise.all(inFlight);
    await rm(runDir, { recursive: true, force: true });
    process.off('exit', cleanupOnExit);
  }

  report.interrupted = signal.aborted;
  report.tarballs = tarballs.map((t) => t.report);
  report.collections = records.map((r) => ({
    key: r.collector.key,
    status: r.status,
    since: r.since.toISOString(),
    until: r.until.toISOString(),
    tarballs: r.tarballs.map((t) => tarballs[t.id]!.report.path),
    error: r.error,
    redaction: r.redaction,
  }));
  const accepted = (r: CollectionRecord): boolean =>
    r.status !== 'failed' && r.tarballs.every((t) => tarballs[t.id]!.accepted);
  const written = (t: TarballRecord): boolean => t.report.error === null;
  report.failed =
    records.some((r) => r.status === 'failed') ||
    tarballs.some((t) => !written(t) || (mode === 'ship' && !t.accepted));

  if (mode === 'ship') {
    const collections: StateCollection[] = records.map((r) => ({
      key: r.collector.key,
      since: r.since,
      until: r.until,
      accepted: accepted(r),
      fullSync: r.fullSync,
    }));
    const next: State = advanceState(state, {
      collections,
      fullSyncs,
      runUntil: until,
      completed: !signal.aborted,
      only: options.only !== undefined,
    });
    await options.store.write(next);
  }
  return report;

  function newRecord(collector: Collector, since: Date, recordUntil: Date, fullSync: boolean): CollectionRecord {
    return { collector, since, until: recordUntil, status: 'empty', error: null, tarballs: [], fullSync, redaction: null };
  }
}

function pick(options: GatherOptions): { since?: Date; until?: Date } {
  return {
    ...(options.since ? { since: options.since } : {}),
    ...(options.until ? { until: options.until } : {}),
  };
}

/** Synchronous last-resort cleanup for a process that exits without unwinding: the run directory and partial tarballs. */
function removeLeftovers(runDir: string, output: string, writing: ReadonlySet<string>): void {
  try {
    rmSync(runDir, { recursive: true, force: true });
    for (const name of readdirSync(output)) {
      // Partial tarballs are `.<name>.<random>.partial` beside their final name.
      if (name.endsWith('.partial') && [...writing].some((t) => name.startsWith(`.${basename(t)}.`))) {
        rmSync(join(output, name), { force: true });
      }
    }
  } catch {
    // Exiting anyway; nothing more can be done.
  }
}
