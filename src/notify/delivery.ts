import type { Dispatcher } from 'undici';
import { isBotsyncError } from '../errors.js';
import type { DeliveryQueue } from './queue.js';
import { sendNotification, type SendOptions, type SendOutcome } from './sender.js';
import type { Notification, NotifyTarget } from './types.js';
import { backoffDelay, type Backoff } from '../lib/time/backoff.js';
import { systemClock, type Clock } from '../lib/time/clock.js';

/**
 * Drains the outbox into the webhook, strictly in order and one at a time: the head is retried
 * (same id, so the receiver can drop a duplicate) until it is delivered, and nothing behind it goes
 * first. Every wait is a timer or a wake-up; the loop never spins.
 */

/** How the loop is doing; how many wait is the outbox's to say (Outbox.size()), not the loop's. */
export interface DeliveryStatus {
  lastDeliveredAt: string | null;
  /** Why the last attempt failed; null again once one succeeds. */
  lastError: string | null;
  state: 'idle' | 'delivering' | 'retrying' | 'rejected' | 'unconfigured';
  nextAttemptAt: string | null;
}

export interface DeliveryLoopOptions {
  /** The outbox, or the notifier's queue in front of it. */
  outbox: DeliveryQueue;
  /** Read before every attempt, so a changed token or URL applies to the next one. */
  target: () => NotifyTarget | undefined;
  /** What every send goes through (httpDispatcher()); the loop's owner closes it. */
  dispatcher: Dispatcher;
  send?: typeof sendNotification;
  clock?: Clock;
  backoff?: Backoff;
  /** Per request; the sender's default when unset. */
  timeoutMs?: number;
  onStatus?: (status: DeliveryStatus) => void;
  log?: (message: string) => void;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 5 * 60_000 };

/** A Retry-After beyond this is more likely a misconfigured receiver than a plan; wake() still cuts any wait short. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

export class DeliveryLoop {
  private readonly outbox: DeliveryQueue;
  private readonly send: typeof sendNotification;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly log: (message: string) => void;
  private current: DeliveryStatus = { lastDeliveredAt: null, lastError: null, state: 'idle', nextAttemptAt: null };
  private running: Promise<void> | undefined;
  private stopping = false;
  /** Set by wake(); a wake-up that arrives while the loop is busy is not lost, the next pause is skipped. */
  private woken = false;
  private pauseController: AbortController | undefined;
  private sendController: AbortController | undefined;
  /** Retry outcomes in a row: the exponent of the backoff. */
  private failures = 0;
  /** Delivered but not yet removed (the removal failed): removed again, never sent again. */
  private readonly delivered = new Set<string>();

  constructor(private readonly options: DeliveryLoopOptions) {
    this.outbox = options.outbox;
    this.send = options.send ?? sendNotification;
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.log = options.log ?? (() => undefined);
  }

  start(): void {
    if (this.running !== undefined) return;
    this.stopping = false;
    this.running = this.run().catch((error: unknown) => {
      // run() handles every failure it expects; reaching this is a bug, and the daemon's log must show it.
      this.log(`notification delivery stopped: ${(error as Error).stack ?? String(error)}`);
    });
  }

  /**
   * A new target or a fix by the user: try again now, whether waiting on a backoff, a rejection or a
   * missing target, with the backoff started afresh (the failures it counted were about the old state).
   */
  wake(): void {
    this.woken = true;
    this.failures = 0;
    this.pauseController?.abort();
  }

  /** Cancels an attempt in flight (the notification stays queued) and any wait, then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pauseController?.abort();
    this.sendController?.abort();
    await this.running;
    this.running = undefined;
  }

  status(): DeliveryStatus {
    return { ...this.current };
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      // Cleared before looking at the outbox and the target: a wake() from now on is about news this pass may miss.
      this.woken = false;
      try {
        await this.step();
      } catch (error) {
        await this.retryLater(`notification delivery failed: ${(error as Error).message}`);
      }
    }
  }

  /** One pass: look at the head of the queue and do the one thing it needs. */
  private async step(): Promise<void> {
    const target = this.options.target();
    const next = await this.outbox.oldest();
    if (target === undefined) {
      this.failures = 0;
      this.update({ state: 'unconfigured', nextAttemptAt: null });
      await this.pause(null);
      return;
    }
    if (next === undefined) {
      this.update({ state: 'idle', nextAttemptAt: null });
      await this.pause(null);
      return;
    }
    if (this.delivered.has(next.id)) {
      await this.removeDelivered(next);
      return;
    }

    this.update({ state: 'delivering', nextAttemptAt: null });
    const outcome = await this.attempt(target, next);
    if (outcome === 'quarantined') return;
    switch (outcome.kind) {
      case 'delivered':
        this.failures = 0;
        this.delivered.add(next.id);
        this.update({ lastDeliveredAt: new Date(this.clock.now()).toISOString(), lastError: null });
        this.log(`notification ${next.id} delivered (HTTP ${outcome.status})`);
        await this.removeDelivered(next);
        return;
      case 'retry':
        // A cancelled attempt is stop() at work, not a failure to report.
        if (this.stopping) return;
        await this.retryLater(`notification ${next.id} not delivered: ${outcome.reason}`, outcome.retryAfterMs);
        return;
      case 'rejected':
        // Retrying cannot help (wrong token, wrong URL): wait for the user to change the target.
        this.failures = 0;
        this.update({ state: 'rejected', lastError: outcome.reason, nextAttemptAt: null });
        this.log(`notification ${next.id} rejected, delivery paused until the target changes: ${outcome.reason}`);
        await this.pause(null);
        return;
    }
  }

  private async attempt(target: NotifyTarget, notification: Notification): Promise<SendOutcome | 'quarantined'> {
    const controller = new AbortController();
    this.sendController = controller;
    try {
      const options: SendOptions = { dispatcher: this.options.dispatcher, signal: controller.signal };
      if (this.options.timeoutMs !== undefined) options.timeoutMs = this.options.timeoutMs;
      return await this.send(target, notification, options);
    } catch (error) {
      // The sender throws INTERNAL only for a notification that can never be sent (oversize): keep it
      // on disk for a human, but out of the way of everything queued behind it.
      if (!isBotsyncError(error, 'INTERNAL')) throw error;
      await this.outbox.quarantine(notification.id, error);
      this.update({ lastError: `notification ${notification.id} moved aside: ${error.message}` });
      this.log(`notification ${notification.id} cannot be delivered and was moved aside: ${error.message}`);
      return 'quarantined';
    } finally {
      this.sendController = undefined;
    }
  }

  private async removeDelivered(notification: Notification): Promise<void> {
    await this.outbox.remove(notification.id);
    this.delivered.delete(notification.id);
  }

  private async retryLater(reason: string, retryAfterMs?: number): Promise<void> {
    this.failures += 1;
    const backoff = backoffDelay(this.backoff, this.failures - 1);
    const wait = Math.max(Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS), backoff);
    this.update({ state: 'retrying', lastError: reason, nextAttemptAt: new Date(this.clock.now() + wait).toISOString() });
    this.log(`${reason}; retrying in ${formatDuration(wait)}`);
    await this.pause(wait);
  }

  /** Waits ms (null: until woken); returns at once if woken meanwhile or stopping. */
  private async pause(ms: number | null): Promise<void> {
    if (this.woken || this.stopping) return;
    const controller = new AbortController();
    this.pauseController = controller;
    try {
      if (ms === null) {
        await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
      } else {
        await this.clock.sleep(ms, controller.signal);
      }
    } finally {
      this.pauseController = undefined;
    }
  }

  private update(patch: Partial<DeliveryStatus>): void {
    const next = { ...this.current, ...patch };
    const changed = (Object.keys(next) as (keyof DeliveryStatus)[]).some((key) => next[key] !== this.current[key]);
    this.current = next;
    if (changed) this.options.onStatus?.({ ...next });
  }
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 60_000)} min`;
}
