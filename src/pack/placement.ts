/**
 * Which tarball does a collection go into? (contract §3, packing rules). Pure: no filesystem, no clock.
 */

/** What placement needs to know of an open tarball. */
export interface OpenTarballView {
  readonly group: string;
  /** Sum of the uncompressed bytes of its collection members. */
  readonly size: number;
  /** Keys of the members it holds. */
  readonly keys: ReadonlySet<string>;
}

/** One file about to be placed. */
export interface Incoming {
  readonly key: string;
  readonly group: string;
  readonly size: number;
}

export type Placement = { kind: 'existing'; index: number } | { kind: 'new'; oversized: boolean };

/**
 * The first open tarball of the same shipping group that holds no member with the same key and has room
 * (`size + incoming <= maxDataSize`); otherwise a new tarball. A file bigger than `maxDataSize` by itself never
 * fits anywhere and so gets a tarball of its own (`oversized`).
 */
export function place(open: readonly OpenTarballView[], item: Incoming, maxDataSize: number): Placement {
  const index = open.findIndex(
    (t) => t.group === item.group && !t.keys.has(item.key) && t.size + item.size <= maxDataSize,
  );
  if (index >= 0) return { kind: 'existing', index };
  return { kind: 'new', oversized: item.size > maxDataSize };
}
