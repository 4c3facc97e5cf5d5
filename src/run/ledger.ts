/**
 * The run's ledger: every collection as placed (in placement order), the status rows still waiting for a
 * tarball, each collector's full sync, and which tarballs the ingress accepted. It is the single source of both
 * the report's `collections` and the input of the state advance, so the two can never disagree.
 */
import type { Collector } from '../collect/register.js';
import type { StatusRow } from '../pack/members.js';
import type { CollectorProgress } from '../state/advance.js';
import type { CollectionReport, CollectionStatus, RedactionSummary } from './report.js';

export interface CollectionEntry {
  /** Index of its collector in the run's plan. */
  readonly collector: number;
  readonly since: Date;
  readonly until: Date;
  /** `failed` may come late: a failure of the collector's code after it returned (see `LateTicket`). */
  status: CollectionStatus;
  error: string | null;
  readonly redaction: RedactionSummary | null;
  /** Ids of the tarballs holding its files, in the order it first went into each. */
  readonly tarballs: number[];
  /** False when the run stopped before the collection's turn to be placed. */
  placed: boolean;
}

interface CollectorRecord {
  readonly collector: Collector;
  /** Where its window starts (null: empty window). */
  readonly start: Date | null;
  readonly entries: CollectionEntry[];
  finished: boolean;
  fullSync: { complete: boolean; finishedAt: Date } | null;
}

/**
 * A collection's claim on the ledger for a failure of its code that comes after it returned (contract §2): a
 * stray rejection, `process.exit()` from a timer. Taken when the collection starts and handed to `record()`, so
 * a failure that arrives before the collection's turn to be recorded is not lost.
 */
export class LateTicket {
  /** The failure that came before the collection was recorded. */
  message: string | null = null;
  entry: CollectionEntry | null = null;
}

/** The error of a collection whose code failed after it returned. */
export const lateError = (message: string): string => `failed after it returned: ${message}`;

/** A status row waiting for the next tarball of its shipping group. */
interface PendingRow {
  group: string;
  row: StatusRow;
}

export class Ledger {
  private readonly collectors: CollectorRecord[];
  private readonly entries: CollectionEntry[] = [];
  private readonly accepted = new Set<number>();
  private pending: PendingRow[] = [];
  /** Set once the report and the final state are taken: nothing changes them any more. */
  private sealed = false;

  /** `plan`: the run's collectors in placement order, each with the start of its window (null when empty). */
  constructor(plan: readonly { collector: Collector; start: Date | null }[]) {
    this.collectors = plan.map(({ collector, start }) => ({ collector, start, entries: [], finished: false, fullSync: null }));
  }

  /**
   * Records a collection in placement order; it counts as placed unless said otherwise. With a `ticket` that
   * already holds a late failure, it is recorded as failed with that error, whatever it returned.
   */
  record(
    index: number,
    collection: { since: Date; until: Date; status: CollectionStatus; error: string | null; redaction?: RedactionSummary | null },
    placed = true,
    ticket?: LateTicket,
  ): CollectionEntry {
    const late = ticket?.message ?? null;
    const entry: CollectionEntry = {
      collector: index,
      since: collection.since,
      until: collection.until,
      status: late !== null && collection.status !== 'failed' ? 'failed' : collection.status,
      error: late !== null && collection.status !== 'failed' ? lateError(late) : collection.error,
      redaction: collection.redaction ?? null,
      tarballs: [],
      placed,
    };
    if (ticket) ticket.entry = entry;
    this.entries.push(entry);
    this.collectors[index]!.entries.push(entry);
    return entry;
  }

  /**
   * The code of a collection failed after it returned: its entry (or, not recorded yet, the entry it will be)
   * becomes failed with `message`, so the report shows it and the state does not advance past it. Files of it
   * already in tarballs stay there (a possible duplicate next run, never a loss). False once the ledger is
   * sealed: the report and the final state are taken, and the failure can only be shown and counted.
   */
  failLate(ticket: LateTicket, message: string): boolean {
    if (this.sealed) return false;
    const { entry } = ticket;
    if (entry === null) ticket.message ??= message;
    else if (entry.status !== 'failed') {
      entry.status = 'failed';
      entry.error = lateError(message);
    }
    return true;
  }

  /**
   * The slicer of collector `index` failed after one of its steps ended: the collector fails from where it has
   * got to, recorded as one failed collection after those it has so far (up to the end of the run's window),
   * so none recorded after it advances the state. False once the ledger is sealed.
   */
  failCollectorLate(index: number, until: Date, message: string): boolean {
    if (this.sealed) return false;
    const record = this.collectors[index]!;
    const last = record.entries.at(-1);
    const since = last?.until ?? record.start ?? until;
    this.record(index, { since, until: since.getTime() < until.getTime() ? until : since, status: 'failed', error: lateError(message) });
    return true;
  }

  /** From now on the ledger does not change: its report and the final state are taken. */
  seal(): void {
    this.sealed = true;
  }

  /** Where collector `index`'s window starts (null: empty). */
  startOf(index: number): Date | null {
    return this.collectors[index]!.start;
  }

  /** The collection has (some of) its files in tarball `id`. */
  placedIn(entry: CollectionEntry, id: number): void {
    if (!entry.tarballs.includes(id)) entry.tarballs.push(id);
  }

  /** Collector `index` was asked for a full sync. */
  fullSyncStarted(index: number, at: Date): void {
    this.collectors[index]!.fullSync = { complete: false, finishedAt: at };
  }

  /** Collector `index` is done for this run: `complete` when it gathered everything it had to. */
  finish(index: number, complete: boolean, finishedAt: Date): void {
    const record = this.collectors[index]!;
    record.finished = complete;
    if (record.fullSync) record.fullSync = { complete, finishedAt };
  }

  /** The ingress accepted tarball `id`. */
  accept(id: number): void {
    this.accepted.add(id);
  }

  addPendingRow(group: string, row: StatusRow): void {
    this.pending.push({ group, row });
  }

  /** Groups that have status rows waiting. */
  pendingGroups(): string[] {
    return [...new Set(this.pending.map((p) => p.group))];
  }

  /**
   * Takes the waiting status rows that ride in `tarball`, closed as part of `batch` (in creation order): those of
   * its group, and at the end of the run (`final`) those whose group has no tarball left in the batch.
   */
  takeRows(tarball: { id: number; group: string }, batch: readonly { id: number; group: string }[], final: boolean): StatusRow[] {
    const taken: StatusRow[] = [];
    this.pending = this.pending.filter((p) => {
      const sameGroupLeft = batch.some((t) => t.id >= tarball.id && t.group === p.group);
      if (p.group === tarball.group || (final && !sameGroupLeft)) {
        taken.push(p.row);
        return false;
      }
      return true;
    });
    return taken;
  }

  /** True when a collection failed. */
  anyFailed(): boolean {
    return this.entries.some((e) => e.status === 'failed');
  }

  /** The report's collections, in placement order; `pathOf` gives a tarball's reported path. */
  report(pathOf: (id: number) => string): CollectionReport[] {
    return this.entries.map((e) => ({
      key: this.collectors[e.collector]!.collector.key,
      status: e.status,
      since: e.since.toISOString(),
      until: e.until.toISOString(),
      tarballs: e.tarballs.map(pathOf),
      error: e.error,
      redaction: e.redaction,
    }));
  }

  /** The input of the state advance: every collector of the plan and how far it got. */
  progress(): CollectorProgress[] {
    return this.collectors.map((c) => ({
      key: c.collector.key,
      collections: c.entries.map((e) => ({ since: e.since, until: e.until, accepted: this.isAccepted(e) })),
      finished: c.finished,
      start: c.start,
      fullSync: c.fullSync,
    }));
  }

  private isAccepted(e: CollectionEntry): boolean {
    return e.status !== 'failed' && e.placed && e.tarballs.every((id) => this.accepted.has(id));
  }
}
