/**
 * Saving the state as a ship run goes (contract §4): whenever a position advances, at most once a second, and
 * once more at the end. Writes never overlap; a write that fails mid-run is logged and retried by the next one.
 * After the lock is lost nothing more is written (`stop()`).
 */
import type { Logger } from 'pino';
import { messageOf } from '../errors.js';
import { serializeState } from '../state/file-store.js';
import type { State, StateStore } from '../types.js';

export interface SaverOptions {
  store: StateStore;
  /** The state as the run stands now (for a mid-run save). */
  current: () => State;
  logger: Logger;
  /** False once nothing may be written any more (the lock is lost); checked before every write. */
  allowed?: () => boolean;
  /** Least time between two mid-run writes, in ms. */
  intervalMs?: number;
  clock?: () => number;
}

export class StateSaver {
  private lastText: string;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly clock: () => number;

  /** `initial`: the state the run read (nothing is written while the state is still that). */
  constructor(initial: State, private readonly options: SaverOptions) {
    this.lastText = serializeState(initial);
    this.intervalMs = options.intervalMs ?? 1000;
    this.clock = options.clock ?? Date.now;
  }

  /** Something may have advanced: writes the current state now, or when a second has passed since the last write. */
  poke(): void {
    if (this.stopped || this.timer !== null) return;
    const wait = this.lastWriteAt + this.intervalMs - this.clock();
    if (wait <= 0) {
      this.writeIfChanged(this.options.current());
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.writeIfChanged(this.options.current());
    }, wait);
  }

  /** The last write of the run; rejects when it fails. */
  async final(state: State): Promise<void> {
    this.cancel();
    await this.writing;
    if (this.stopped || !this.isAllowed()) return;
    this.stopped = true;
    const text = serializeState(state);
    if (text === this.lastText) return;
    await this.options.store.write(state);
    this.lastText = text;
  }

  /** No more writes (the lock is lost); waits for one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    await this.writing;
  }

  private isAllowed(): boolean {
    return this.options.allowed?.() ?? true;
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private writeIfChanged(state: State): void {
    this.writing = this.writing.then(async () => {
      const text = serializeState(state);
      if (this.stopped || !this.isAllowed() || text === this.lastText) return;
      this.lastWriteAt = this.clock();
      try {
        await this.options.store.write(state);
        this.lastText = text;
      } catch (err) {
        this.options.logger.warn(`could not save the state as the run goes (${this.options.store.describe()}): ${messageOf(err)}; trying again later`);
      }
    });
  }
}
