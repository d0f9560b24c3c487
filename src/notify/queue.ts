import { isBotsyncError } from '../errors.js';
import { backoffDelay, type Backoff } from '../lib/time/backoff.js';
import { sleepUnlessAborted } from '../lib/time/sleep.js';
import type { Outbox } from './outbox.js';
import type { Notification } from './types.js';

/** What the delivery loop drains (delivery.ts): the outbox, or this queue in front of it. */
export type DeliveryQueue = Pick<Outbox, 'oldest' | 'size' | 'remove' | 'quarantine'>;

export interface NotificationQueueOptions {
  log: (message: string) => void;
  /** A notification taken off the disk's backlog, or one to send from memory: the delivery loop may have news. */
  onReady: () => void;
  /** Held past this many bytes of messages, add() waits: the event stream stops reading until there is room. */
  maxHeldBytes?: number;
  retry?: Backoff;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Entry {
  notification: Notification;
  /** The oldest Syncthing event id it covers (see Batcher), or null. */
  since: number | null;
  bytes: number;
}

const MAX_HELD_BYTES = 16 * 1024 * 1024;
const RETRY: Backoff = { initialMs: 1_000, maxMs: 10_000 };

/**
 * The notifier's queue in front of the durable outbox. A notification is accepted at once and written
 * to the outbox in order, one at a time. When the outbox cannot take it (a full disk), it is held in
 * memory, the write retried with backoff, and the delivery loop may send it from memory meanwhile, so
 * that a full disk is still announced while it is full. heldSince() tells the event stream not to save
 * its cursor past any event whose notification is not yet on disk nor delivered, so a crash reads those
 * events again instead of losing them.
 */
export class NotificationQueue implements DeliveryQueue {
  private readonly log: (message: string) => void;
  private readonly onReady: () => void;
  private readonly maxHeldBytes: number;
  private readonly retry: Backoff;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Accepted and not yet on disk, oldest first; the head may be being written. */
  private pending: Entry[] = [];
  private pendingBytes = 0;
  private writer: Promise<void> | undefined;
  /** Set while the outbox refuses writes: pending entries may then be delivered from memory. */
  private failing: Error | undefined;
  private readonly stopping = new AbortController();
  private waitingStopped = false;
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly outbox: Outbox,
    options: NotificationQueueOptions,
  ) {
    this.log = options.log;
    this.onReady = options.onReady;
    this.maxHeldBytes = options.maxHeldBytes ?? MAX_HELD_BYTES;
    this.retry = options.retry ?? RETRY;
    this.sleep = options.sleep ?? sleepUnlessAborted;
  }

  /** Accepts a notification; it counts in heldSince() from this moment until it is on disk or delivered. */
  add(notification: Notification, since: number | null): void {
    const bytes = Buffer.byteLength(notification.message);
    this.pending.push({ notification, since, bytes });
    this.pendingBytes += bytes;
    this.writer ??= this.write().finally(() => (this.writer = undefined));
  }

  /** Resolves once fewer than maxHeldBytes are held (at once, normally), or the queue stops. */
  room(): Promise<void> {
    if (this.pendingBytes < this.maxHeldBytes || this.waitingStopped) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** The oldest Syncthing event id of a notification not yet on disk nor delivered, or null. */
  heldSince(): number | null {
    let oldest: number | null = null;
    for (const { since } of this.pending) if (since !== null) oldest = Math.min(oldest ?? since, since);
    return oldest;
  }

  async oldest(): Promise<Notification | undefined> {
    const onDisk = await this.outbox.oldest();
    // While the disk takes writes, nothing is sent before it is on disk.
    return onDisk ?? (this.failing === undefined ? undefined : this.pending[0]?.notification);
  }

  async size(): Promise<number> {
    return (await this.outbox.size()) + this.pending.length;
  }

  /** Delivered: off the disk, and out of memory if it was held there (a write in progress is undone after it). */
  async remove(id: string): Promise<void> {
    this.drop(id);
    await this.outbox.remove(id);
  }

  async quarantine(id: string, why: Error): Promise<void> {
    if (this.drop(id)) this.log(`notification ${id} cannot be delivered and was dropped from memory: ${why.message}`);
    await this.outbox.quarantine(id, why);
  }

  /** From now on room() does not wait: the event stream is stopping and must not be held up. */
  stopWaiting(): void {
    this.waitingStopped = true;
    this.releaseWaiters();
  }

  /** Stops retrying; whatever is still held gets one more try, and what the disk will not take is said. */
  async stop(): Promise<void> {
    this.stopWaiting();
    this.stopping.abort();
    await this.writer;
    let lost = 0;
    let why = '';
    for (const entry of this.pending) {
      try {
        await this.outbox.add(entry.notification);
      } catch (error) {
        lost += 1;
        why = (error as Error).message;
      }
    }
    if (lost > 0) this.log(`${lost} ${lost === 1 ? 'notification' : 'notifications'} could not be queued before the daemon stopped (${why}); their events are read again from Syncthing if it still has them`);
    this.pending = [];
    this.pendingBytes = 0;
  }

  private async write(): Promise<void> {
    let failures = 0;
    while (this.pending.length > 0 && !this.stopping.signal.aborted) {
      const head = this.pending[0]!;
      try {
        await this.outbox.add(head.notification);
      } catch (error) {
        if (isBotsyncError(error, 'INTERNAL')) {
          // A notification the outbox can never hold (a bug): retrying would block every one behind it.
          this.drop(head.notification.id);
          this.log(`notification ${head.notification.id} dropped: ${error.message}`);
          continue;
        }
        if (this.failing === undefined) {
          this.failing = error as Error;
          this.log(`${(error as Error).message} Holding notifications in memory, delivering them from there, and retrying.`);
          this.onReady();
        }
        await this.sleep(backoffDelay(this.retry, failures++), this.stopping.signal);
        continue;
      }
      // Delivered from memory while it was being written: the copy on disk must not be sent again.
      if (!this.drop(head.notification.id)) await this.outbox.remove(head.notification.id).catch((error: unknown) => this.log(`removing the delivered notification ${head.notification.id} failed: ${(error as Error).message}`));
      failures = 0;
      if (this.failing !== undefined) {
        this.failing = undefined;
        this.log(`the notification outbox takes writes again; ${this.pending.length} more to queue`);
      }
      this.onReady();
    }
  }

  /** Takes an entry out of memory; false when it was not there. */
  private drop(id: string): boolean {
    const index = this.pending.findIndex((entry) => entry.notification.id === id);
    if (index === -1) return false;
    this.pendingBytes -= this.pending[index]!.bytes;
    this.pending.splice(index, 1);
    if (this.pendingBytes < this.maxHeldBytes) this.releaseWaiters();
    return true;
  }

  private releaseWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
