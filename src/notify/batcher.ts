/**
 * Groups botsync events into notifications. Files received from peers come in bursts (a copied
 * folder is hundreds of ItemFinished events within a second), so they are batched in a BatchWindow
 * (window.ts). Everything else is news on its own and goes out at once, after the pending batch, so
 * messages keep the order of events.
 */
import { randomBytes } from 'node:crypto';
import { formatEvent, formatFileBatch } from './format.js';
import type { FileReceivedEvent, Notification, NotifiedEvent } from './types.js';
import { BatchWindow, realClock, type BatcherClock } from './window.js';

export { MAX_BATCH_MS, QUIET_MS, type BatcherClock } from './window.js';

export interface BatcherOptions {
  /**
   * Takes each notification synchronously (the daemon queues it for the durable outbox), with the
   * oldest source id (Syncthing event id) of the events it covers, or null when none came from one.
   */
  onNotification: (notification: Notification, sourceSince: number | null) => void;
  /** A batch closes after this long without a new file. */
  quietMs?: number;
  /** ... or this long after its first file. */
  maxMs?: number;
  clock?: BatcherClock;
  /** When onNotification throws from a timer (there is no caller to throw to); the batch is kept and retried. */
  onError?: (error: unknown) => void;
}

/** Unique, and sorts by creation time: UTC timestamp to the millisecond plus 64 random bits. */
/**
 * Time-ordered ids: the outbox sends in id order within a millisecond, so a sequence number keeps a
 * file batch ahead of the device notice that flushed it; the random part keeps ids unique across runs.
 */
let sequence = 0;

export function notificationId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('.', '');
  sequence = (sequence + 1) % 1_000_000;
  return `${stamp}-${String(sequence).padStart(6, '0')}-${randomBytes(6).toString('hex')}`;
}

export class Batcher {
  private readonly onNotification: (notification: Notification, sourceSince: number | null) => void;
  private readonly clock: BatcherClock;
  private readonly window: BatchWindow;
  private readonly onError: ((error: unknown) => void) | undefined;
  private files: FileReceivedEvent[] = [];
  /** The source id of each file in `files`, where it came from one. */
  private sources: (number | undefined)[] = [];
  private oldestSourceId: number | null = null;

  constructor(options: BatcherOptions) {
    this.onNotification = options.onNotification;
    this.clock = options.clock ?? realClock;
    this.window = new BatchWindow(() => this.closeFromTimer(), options.quietMs, options.maxMs, this.clock);
    this.onError = options.onError;
  }

  /** Files waiting in the open batch. */
  get pending(): number {
    return this.files.length;
  }

  /**
   * The source id (Syncthing event id) of the oldest event held in the open batch, or null: what the
   * event stream must not move its saved cursor past, so that a crash re-delivers the batch.
   */
  heldSince(): number | null {
    return this.oldestSourceId;
  }

  /** `sourceId`: the id of the Syncthing event this came from, when it came from one. */
  add(event: NotifiedEvent, sourceId?: number): void {
    if (event.type !== 'file.received') {
      this.flush();
      this.emit({ message: formatEvent(event), eventCount: 1 }, sourceId ?? null);
      return;
    }
    this.files.push(event);
    this.sources.push(sourceId);
    if (sourceId !== undefined) this.oldestSourceId = Math.min(this.oldestSourceId ?? sourceId, sourceId);
    this.window.extend();
  }

  /** Leaves in the open batch only the files `keep` accepts (a narrower notify filter applies to it too). */
  keepOnly(keep: (event: FileReceivedEvent) => boolean): void {
    const kept = this.files.map((event, index) => ({ event, sourceId: this.sources[index] })).filter(({ event }) => keep(event));
    if (kept.length === this.files.length) return;
    this.files = kept.map(({ event }) => event);
    this.sources = kept.map(({ sourceId }) => sourceId);
    this.oldestSourceId = kept.reduce<number | null>((oldest, { sourceId }) => (sourceId === undefined ? oldest : Math.min(oldest ?? sourceId, sourceId)), null);
    if (this.files.length === 0) this.window.clear();
  }

  /** Closes the open batch now (at shutdown, or before news that must follow it). */
  flush(): void {
    if (this.files.length === 0) return;
    this.emit({ message: formatFileBatch(this.files), eventCount: this.files.length }, this.oldestSourceId);
    this.files = [];
    this.sources = [];
    this.oldestSourceId = null;
    this.window.clear();
  }

  private emit(content: { message: string; eventCount: number }, sourceSince: number | null): void {
    const now = this.clock.now();
    this.onNotification({ id: notificationId(now), createdAt: new Date(now).toISOString(), ...content }, sourceSince);
  }

  private closeFromTimer(): void {
    try {
      this.flush();
    } catch (error) {
      // The files stay in the batch; try again after another quiet window rather than drop them.
      this.window.clear();
      this.window.extend();
      if (this.onError === undefined) throw error;
      this.onError(error);
    }
  }
}
