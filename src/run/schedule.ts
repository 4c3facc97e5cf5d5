/**
 * Running collections at the same time (contract §3): up to `concurrency` collections of different collectors
 * at once, the slices of one collector one at a time and in order, and every outcome handed back in the plan's
 * order — collector by collector, slice by slice — whatever order they finish in, so placement stays that of a
 * run with `concurrency: 1`. Only the collector being placed and the `concurrency - 1` after it may collect, and
 * one ahead of its turn gathers at most one collection before it waits: the run's temporary files stay bounded,
 * and `concurrency: 1` is one collection after another.
 */
import { messageOf } from '../errors.js';

/** A window (or slice) to collect. */
export interface Window {
  since: Date;
  until: Date;
}

/** What a collector's job hands back, in order: its collections, a failed slicer, then `done`. */
export type Delivery<R> =
  | { kind: 'collection'; window: Window; result: R }
  | { kind: 'slicer-failed'; error: string }
  | { kind: 'done'; complete: boolean; finishedAt: Date };

export interface ScheduleInput<C, R> {
  plan: readonly C[];
  concurrency: number;
  /** The windows a collector gathers, lazily (a slicer is driven one slice at a time). */
  windows(collector: C, index: number): AsyncIterable<Window>;
  collect(collector: C, index: number, window: Window): Promise<R>;
  /** True once no further collection may start (signal, lost lock, halted uploads, fatal error). */
  stopped(): boolean;
  /** The run's clock (a full sync's finish time). */
  now(): Date;
}

/** Yields each collector's deliveries, collector after collector in plan order. */
export async function* inPlanOrder<C, R>(input: ScheduleInput<C, R>): AsyncGenerator<{ index: number; delivery: Delivery<R> }, void, undefined> {
  const slots = new Slots(input.concurrency);
  const head = new Head(Math.max(1, input.concurrency));
  const channels = input.plan.map(() => new Channel<Delivery<R>>());
  const jobs = input.plan.map((collector, index) => runJob(input, collector, index, channels[index]!, slots, head));
  try {
    for (const [index, channel] of channels.entries()) {
      head.moveTo(index);
      for (;;) {
        const delivery = await channel.take();
        yield { index, delivery };
        if (delivery.kind === 'done') break;
      }
    }
  } finally {
    for (const channel of channels) channel.close();
    head.moveTo(Number.POSITIVE_INFINITY);
    await Promise.all(jobs);
  }
}

async function runJob<C, R>(
  input: ScheduleInput<C, R>,
  collector: C,
  index: number,
  out: Channel<Delivery<R>>,
  slots: Slots,
  head: Head,
): Promise<void> {
  let complete = false;
  let lastFinished: Date | null = null;
  let iterator: AsyncIterator<Window> | undefined;
  try {
    iterator = input.windows(collector, index)[Symbol.asyncIterator]();
    for (;;) {
      await out.space();
      await head.near(index);
      if (input.stopped() || out.closed) break;
      const release = await slots.acquire(index);
      try {
        if (input.stopped() || out.closed) break;
        const next = await iterator.next();
        if (next.done) {
          complete = true;
          break;
        }
        const result = await input.collect(collector, index, next.value);
        lastFinished = input.now();
        out.push({ kind: 'collection', window: next.value, result });
      } finally {
        release();
      }
    }
  } catch (err) {
    if (!input.stopped()) out.push({ kind: 'slicer-failed', error: messageOf(err) });
  } finally {
    if (!complete) await Promise.resolve(iterator?.return?.()).catch(() => undefined);
  }
  // A full sync finishes when its last slice did (when its slicer ended, if it yielded none).
  out.push({ kind: 'done', complete, finishedAt: lastFinished ?? input.now() });
}

/** Which collector is being placed; a job waits until it is among the `span` from there. */
class Head {
  private index = 0;
  private readonly waiting: { index: number; wake: () => void }[] = [];

  constructor(private readonly span: number) {}

  near(index: number): Promise<void> {
    if (index < this.index + this.span) return Promise.resolve();
    return new Promise<void>((wake) => this.waiting.push({ index, wake }));
  }

  moveTo(index: number): void {
    this.index = index;
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const waiter = this.waiting[i]!;
      if (waiter.index < this.index + this.span) {
        this.waiting.splice(i, 1);
        waiter.wake();
      }
    }
  }
}

/** A counting semaphore that serves the lowest index first, so the collector being placed is never starved. */
class Slots {
  private free: number;
  private readonly waiting: { index: number; wake: () => void }[] = [];

  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  async acquire(index: number): Promise<() => void> {
    if (this.free > 0) this.free--;
    else {
      await new Promise<void>((wake) => {
        this.waiting.push({ index, wake });
        this.waiting.sort((a, b) => a.index - b.index);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.wake();
      else this.free++;
    };
  }
}

/** A one-item mailbox from a job to the consumer. */
class Channel<T> {
  private readonly items: T[] = [];
  private taker: ((item: T) => void) | null = null;
  private spaceWaiter: (() => void) | null = null;
  closed = false;

  push(item: T): void {
    if (this.taker) {
      const take = this.taker;
      this.taker = null;
      take(item);
    } else this.items.push(item);
  }

  take(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.wakeSpace();
      return Promise.resolve(item);
    }
    return new Promise<T>((resolve) => (this.taker = resolve));
  }

  /** Resolves once nothing pushed is waiting to be taken. */
  space(): Promise<void> {
    if (this.items.length === 0 || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => (this.spaceWaiter = resolve));
  }

  close(): void {
    this.closed = true;
    this.wakeSpace();
  }

  private wakeSpace(): void {
    if (this.items.length > 0 && !this.closed) return;
    const wake = this.spaceWaiter;
    this.spaceWaiter = null;
    wake?.();
  }
}
