/**
 * The tarball queue: tarballs are written at most `limit` at a time, uploaded one at a time in creation order,
 * then settled (deleted, kept, moved to `failed/`, pruned), and what became of each is recorded as its
 * `disposition` — never inferred from a path afterwards. Writing, shipping and settling are parameters, so the
 * queue is tested without collectors or a file system.
 */
import { messageOf } from '../errors.js';
import type { ShipResult } from '../types.js';
import type { Disposition, TarballReport } from './report.js';

/** A tarball to write: its id (creation order), final path and the member names it is planned to hold. */
export interface QueueItem {
  readonly id: number;
  readonly path: string;
  readonly names: readonly string[];
}

/** A written tarball: compressed size and members in tar order. */
export interface Written {
  bytes: number;
  members: string[];
}

/** Where a tarball ended up after its upload, and which earlier failed tarballs `keepFailed` removed. */
export interface Settlement {
  disposition: Disposition;
  path: string;
  /** Paths removed from `failed/` by this settlement (its own included when it was pruned at once). */
  pruned: readonly string[];
}

export interface QueueOptions<T extends QueueItem, W extends Written> {
  /** Writes the tarball; rejects when it could not be written (having removed what it wrote). */
  write(item: T): Promise<W>;
  /** Uploads a written tarball (ship mode); absent in a dry run, where a written tarball is kept. */
  ship?: (item: T, written: W) => Promise<ShipResult>;
  /** Deletes, keeps or moves the tarball after its upload. */
  settle?: (path: string, accepted: boolean) => Promise<Settlement>;
  /** Tarballs written at the same time, at most. */
  limit: number;
  /** Once aborted, nothing more is uploaded: what is written is settled as failed. */
  signal: AbortSignal;
  /** Called once per tarball, when its fate is known (in creation order in ship mode). */
  onSettled?: (id: number, report: TarballReport) => void;
}

export class TarballQueue<T extends QueueItem, W extends Written = Written> {
  private readonly reports = new Map<number, TarballReport>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private writing = 0;
  private uploads: Promise<void> = Promise.resolve();
  private haltReason: string | null = null;

  constructor(private readonly options: QueueOptions<T, W>) {}

  /**
   * Queues a tarball. Resolves when its write has started (so a caller adding many waits for a free slot);
   * `written` then resolves to true once it is on disk, false if it could not be written. Never rejects.
   */
  async add(item: T): Promise<{ written: Promise<boolean> }> {
    const report: TarballReport = {
      path: item.path,
      bytes: 0,
      members: [...item.names],
      shipped: false,
      requestId: null,
      error: null,
      disposition: 'unwritten',
    };
    this.reports.set(item.id, report);
    while (this.writing >= Math.max(1, this.options.limit)) await new Promise<void>((wake) => this.waiting.push(wake));
    this.writing++;
    const written = this.write(item, report).finally(() => {
      this.writing--;
      this.waiting.shift()?.();
    });
    const done = this.options.ship ? this.chainUpload(item, report, written) : written.then(() => this.settled(item.id, report));
    this.tasks.add(done);
    void done.finally(() => this.tasks.delete(done));
    return { written: written.then((w) => w !== null) };
  }

  /** Waits until every tarball queued so far is settled. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  /** Why the ingress will take nothing more this run (it rejected the credentials), or null. */
  get halted(): string | null {
    return this.haltReason;
  }

  /** The report of tarball `id`, if it was queued. */
  report(id: number): TarballReport | undefined {
    return this.reports.get(id);
  }

  private async write(item: T, report: TarballReport): Promise<W | null> {
    try {
      this.options.signal.throwIfAborted();
      const written = await this.options.write(item);
      report.bytes = written.bytes;
      report.members = [...written.members];
      if (!this.options.ship) report.disposition = 'kept';
      return written;
    } catch (err) {
      report.error = this.options.signal.aborted ? 'the run was stopped before it was written' : messageOf(err);
      return null;
    }
  }

  private chainUpload(item: T, report: TarballReport, written: Promise<W | null>): Promise<void> {
    const upload = this.uploads.then(async () => {
      const w = await written;
      if (w !== null) await this.upload(item, report, w);
      this.settled(item.id, report);
    });
    this.uploads = upload;
    return upload;
  }

  private async upload(item: T, report: TarballReport, written: W): Promise<void> {
    let accepted = false;
    if (this.options.signal.aborted) {
      report.error = 'not uploaded: the run was stopped first';
    } else {
      const result = await this.options.ship!(item, written).catch((err: unknown): ShipResult => ({ status: 'failed', error: messageOf(err) }));
      accepted = result.status === 'sent';
      report.shipped = accepted;
      if (result.status === 'sent') report.requestId = result.requestId ?? null;
      else report.error = result.error;
      if (result.status === 'failed' && result.authRejected) this.haltReason ??= result.error;
    }
    report.disposition = 'kept';
    if (!this.options.settle) return;
    try {
      const settlement = await this.options.settle(report.path, accepted);
      report.path = settlement.path;
      report.disposition = settlement.disposition;
      this.markPruned(settlement.pruned);
    } catch (err) {
      report.error ??= `left at ${report.path}: ${messageOf(err)}`;
    }
  }

  /** Tarballs of this run that `keepFailed` removed from `failed/`. */
  private markPruned(paths: readonly string[]): void {
    if (paths.length === 0) return;
    const gone = new Set(paths);
    for (const report of this.reports.values()) {
      if (report.disposition === 'failed' && gone.has(report.path)) report.disposition = 'pruned';
    }
  }

  private settled(id: number, report: TarballReport): void {
    this.options.onSettled?.(id, report);
  }
}
