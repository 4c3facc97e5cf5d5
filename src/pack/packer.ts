/**
 * The set of tarballs of one run, as they are opened, filled and closed. Still pure: members are names and
 * sizes; writing the `.tar.gz` happens elsewhere.
 */
import { place, type Incoming } from './placement.js';

export interface PlannedMember {
  /** Member name without `./`, e.g. `jobs.csv`. */
  name: string;
  key: string;
  size: number;
  /** Where the bytes are on disk. */
  file: string;
}

export interface PlannedTarball {
  /** 0, 1, 2… in creation order. */
  readonly id: number;
  readonly group: string;
  size: number;
  readonly keys: Set<string>;
  readonly members: PlannedMember[];
  open: boolean;
}

export interface PlaceResult {
  tarball: PlannedTarball;
  /** True when the tarball was opened for this file. */
  opened: boolean;
  /** True when the file alone is bigger than `maxDataSize`. */
  oversized: boolean;
}

export class Packer {
  readonly tarballs: PlannedTarball[] = [];

  constructor(private readonly maxDataSize: number) {}

  /** Places one file by the packing rule and records it. */
  add(item: Incoming & { name: string; file: string }): PlaceResult {
    const open = this.tarballs.filter((t) => t.open);
    const decision = place(open, item, this.maxDataSize);
    let tarball: PlannedTarball;
    if (decision.kind === 'existing') {
      tarball = open[decision.index]!;
    } else {
      tarball = { id: this.tarballs.length, group: item.group, size: 0, keys: new Set(), members: [], open: true };
      this.tarballs.push(tarball);
    }
    tarball.size += item.size;
    tarball.keys.add(item.key);
    tarball.members.push({ name: item.name, key: item.key, size: item.size, file: item.file });
    return { tarball, opened: decision.kind === 'new', oversized: decision.kind === 'new' && decision.oversized };
  }

  /** Opens an empty tarball (for status rows that no other tarball will carry). */
  openEmpty(group: string): PlannedTarball {
    const tarball: PlannedTarball = { id: this.tarballs.length, group, size: 0, keys: new Set(), members: [], open: true };
    this.tarballs.push(tarball);
    return tarball;
  }

  /** Marks tarballs closed; returns those that were open, in creation order. */
  close(tarballs: Iterable<PlannedTarball>): PlannedTarball[] {
    const closing = [...new Set(tarballs)].filter((t) => t.open).sort((a, b) => a.id - b.id);
    for (const t of closing) t.open = false;
    return closing;
  }

  /** Every tarball still open, in creation order. */
  openTarballs(): PlannedTarball[] {
    return this.tarballs.filter((t) => t.open);
  }
}
