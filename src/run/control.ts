/**
 * What can stop a run, and what each stops. A signal (SIGINT/SIGTERM) or a lost lock stops everything: no
 * collection starts or goes on, nothing more is uploaded. A fatal error stops the collections; what is already
 * queued is still written and shipped. A lost lock also forbids any further state write.
 */
import type { HeldLock } from '../types.js';
import { messageOf } from '../errors.js';

export class RunControl {
  private readonly collecting = new AbortController();
  private readonly shipping = new AbortController();
  private readonly onSignal: () => void;
  private lost: Error | null = null;
  private fatalMessage: string | null = null;

  constructor(
    private readonly signal: AbortSignal,
    lock?: HeldLock,
  ) {
    this.onSignal = () => this.stopAll(signal.reason);
    if (signal.aborted) this.onSignal();
    else signal.addEventListener('abort', this.onSignal, { once: true });
    lock?.onLost?.((err) => {
      this.lost ??= err instanceof Error ? err : new Error(messageOf(err));
      this.stopAll(this.lost);
    });
  }

  /** Aborted when collections must stop: a signal, the lost lock, a fatal error. */
  get collectSignal(): AbortSignal {
    return this.collecting.signal;
  }

  /** Aborted when nothing more may be written or uploaded: a signal, the lost lock. */
  get shipSignal(): AbortSignal {
    return this.shipping.signal;
  }

  /** Ends the run early for `err` (the first one wins). */
  fail(err: unknown): void {
    this.fatalMessage ??= messageOf(err);
    this.collecting.abort(new Error(this.fatalMessage));
  }

  get fatal(): string | null {
    return this.lost ? `the lock was lost, so the run stopped and the state was not written: ${messageOf(this.lost)}` : this.fatalMessage;
  }

  get lockLost(): boolean {
    return this.lost !== null;
  }

  /** True when a signal stopped the run. */
  get interrupted(): boolean {
    return this.signal.aborted;
  }

  dispose(): void {
    this.signal.removeEventListener('abort', this.onSignal);
  }

  private stopAll(reason: unknown): void {
    this.collecting.abort(reason);
    this.shipping.abort(reason);
  }
}
