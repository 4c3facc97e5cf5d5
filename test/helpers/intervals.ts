/** Coverage of a timeline by gathered windows, for the "no window is ever skipped" properties. */

/** A window as [start, end) in milliseconds. */
export type Interval = [number, number];

/** True when the intervals together cover [from, to) without a gap. */
export function covers(intervals: readonly Interval[], from: number, to: number): boolean {
  let reached = from;
  for (const [start, end] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (reached >= to) break;
    if (start > reached) return false;
    reached = Math.max(reached, end);
  }
  return reached >= to;
}
