/**
 * The time window that makes one burst of file events one batch: it closes after a quiet spell with
 * no new item, or a fixed time after its first item, whichever comes first, so a steady trickle still
 * closes every maxMs. Shared by the notification batcher and the mass-deletion watch, so that both
 * see the same bursts.
 */

export interface BatcherClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const QUIET_MS = 2_000;
export const MAX_BATCH_MS = 10_000;

// Looked up at call time, so that fake timers installed after construction still apply.
export const realClock: BatcherClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class BatchWindow {
  private quietTimer: unknown;
  private maxTimer: unknown;

  constructor(
    private readonly onClose: () => void,
    private readonly quietMs = QUIET_MS,
    private readonly maxMs = MAX_BATCH_MS,
    private readonly clock: BatcherClock = realClock,
  ) {}

  /** An item joined the batch: the quiet spell starts again; the first item starts the maximum too. */
  extend(): void {
    if (this.maxTimer === undefined) this.maxTimer = this.clock.setTimeout(() => this.onClose(), this.maxMs);
    if (this.quietTimer !== undefined) this.clock.clearTimeout(this.quietTimer);
    this.quietTimer = this.clock.setTimeout(() => this.onClose(), this.quietMs);
  }

  /** The batch was closed (or emptied): no timer is left running. */
  clear(): void {
    if (this.quietTimer !== undefined) this.clock.clearTimeout(this.quietTimer);
    if (this.maxTimer !== undefined) this.clock.clearTimeout(this.maxTimer);
    this.quietTimer = undefined;
    this.maxTimer = undefined;
  }
}
