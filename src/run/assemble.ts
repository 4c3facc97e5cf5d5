/**
 * Placement and closing (contract §3): each collection's files go into tarballs by the packing rule, in the
 * plan's order; a slice's tarballs close as soon as it is placed, the rest when every collection is placed.
 * Closing a tarball takes the status rows waiting for it and hands it to the tarball queue.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CollectedFile } from '../collect/run.js';
import type { Collector } from '../collect/register.js';
import { CONFIG_FILE, MANIFEST_FILE, STATUS_FILE, type StatusRow, type TarballNamer } from '../pack/members.js';
import { Packer, type PlannedTarball } from '../pack/packer.js';
import type { CollectionEntry, Ledger } from './ledger.js';
import type { QueueItem } from './queue.js';
import type { TarballReport } from './report.js';

/** A tarball as it is handed to the queue: data members with versions, and its status rows. */
export interface TarballJob extends QueueItem {
  readonly group: string;
  readonly members: readonly { name: string; file: string; version: string }[];
  readonly rows: readonly StatusRow[];
}

/** What the assembler needs of the tarball queue. */
export interface TarballSink {
  add(job: TarballJob): Promise<{ written: Promise<boolean> }>;
  report(id: number): TarballReport | undefined;
}

interface Draft {
  path: string;
  versions: string[];
  rows: StatusRow[];
}

export interface AssemblerOptions {
  maxDataSize: number;
  output: string;
  namer: TarballNamer;
  /** The file name stem of a new tarball of `group` (the packager's `tarballBase`, or the default). */
  base(group: string): Promise<string>;
  ledger: Ledger;
  queue: TarballSink;
  logger: Logger;
}

export class Assembler {
  private readonly packer: Packer;
  private readonly drafts: Draft[] = [];

  constructor(private readonly options: AssemblerOptions) {
    this.packer = new Packer(options.maxDataSize);
  }

  /** Places a collection's files, in order; `row` makes the status row of one file. */
  async place(entry: CollectionEntry, collector: Collector, files: readonly CollectedFile[], row: (fileName: string) => StatusRow): Promise<void> {
    for (const file of files) {
      const placed = this.packer.add({ key: collector.key, group: collector.shippingGroup, size: file.size, name: file.name, file: file.file });
      if (placed.oversized) {
        this.options.logger.warn(
          `${collector.key}: ${file.name} holds ${file.size} bytes, more than maxDataSize (${this.options.maxDataSize}); it gets a tarball of its own`,
        );
      }
      if (placed.opened) await this.draft(placed.tarball);
      const draft = this.drafts[placed.tarball.id]!;
      draft.versions.push(collector.version);
      draft.rows.push(row(file.name));
      this.options.ledger.placedIn(entry, placed.tarball.id);
    }
  }

  /** Closes the tarballs holding `entry`'s files (a slice); resolves once they are queued. */
  async closeFor(entry: CollectionEntry): Promise<{ written: Promise<boolean> }> {
    const closing = this.packer.close(entry.tarballs.map((id) => this.packer.tarballs[id]!));
    return this.close(closing, false);
  }

  /** Closes every open tarball at the end of the run; status rows with nothing left to ride in get a tarball. */
  async closeAll(): Promise<void> {
    if (this.packer.openTarballs().length === 0) {
      for (const group of this.options.ledger.pendingGroups()) await this.draft(this.packer.openEmpty(group));
    }
    await this.close(this.packer.close(this.packer.openTarballs()), true);
  }

  /** The reported path of tarball `id`. */
  pathOf(id: number): string {
    return this.options.queue.report(id)?.path ?? this.drafts[id]?.path ?? '';
  }

  /** Every tarball of the run in creation order, those never written included. */
  reports(): TarballReport[] {
    // A tarball whose name could not be made (a packager hook failed, ending the run) was never more than a plan.
    const named = this.packer.tarballs.filter((planned) => this.drafts[planned.id] !== undefined);
    return named.map(
      (planned) =>
        this.options.queue.report(planned.id) ?? {
          path: this.drafts[planned.id]!.path,
          bytes: 0,
          members: namesOf(planned),
          shipped: false,
          requestId: null,
          error: 'the run stopped before it was written',
          disposition: 'unwritten',
        },
    );
  }

  private async draft(planned: PlannedTarball): Promise<void> {
    const base = await this.options.base(planned.group);
    this.drafts[planned.id] = { path: join(this.options.output, this.options.namer.next(base)), versions: [], rows: [] };
  }

  private async close(closing: readonly PlannedTarball[], final: boolean): Promise<{ written: Promise<boolean> }> {
    const written: Promise<boolean>[] = [];
    for (const planned of closing) {
      const draft = this.drafts[planned.id]!;
      draft.rows.push(...this.options.ledger.takeRows(planned, closing, final));
      const job: TarballJob = {
        id: planned.id,
        path: draft.path,
        names: namesOf(planned),
        group: planned.group,
        members: planned.members.map((m, i) => ({ name: m.name, file: m.file, version: draft.versions[i]! })),
        rows: draft.rows,
      };
      written.push((await this.options.queue.add(job)).written);
    }
    return { written: Promise.all(written).then((all) => all.every(Boolean)) };
  }
}

const namesOf = (planned: PlannedTarball): string[] => [...planned.members.map((m) => m.name), CONFIG_FILE, STATUS_FILE, MANIFEST_FILE];
