/**
 * Who made each item a peer sent, without asking Syncthing item by item (a burst of 10,000 files was
 * 10,000 `GET /rest/db/file`). ItemFinished (the puller wrote an item) does not say; the puller's
 * database update emits RemoteChangeDetected for the same item, with its `modifiedBy`, a moment later
 * (in batches: on Syncthing 1.19 at most ~2 s, or as the pull ends), and now and then a moment before.
 * A finished item waits here for its change; one whose change does not come within the wait (an event
 * lost, a Syncthing too busy) is handed back to be looked up as before, so `from` is never a guess.
 */
import { realClock, type BatcherClock } from './window.js';

export const AUTHOR_WAIT_MS = 5_000;

export interface Waiting<T> {
  value: T;
  /** The Syncthing event id it came from: the saved event cursor stays behind it while it waits. */
  sourceId: number;
}

interface Entry<T> extends Waiting<T> {
  key: string;
  at: number;
}

export interface ReceivedAuthorsOptions<T> {
  /** Items whose change did not come in time, oldest first: their author is to be looked up. */
  onOverdue: (items: Waiting<T>[]) => void;
  waitMs?: number;
  clock?: BatcherClock;
}

export class ReceivedAuthors<T> {
  /** In arrival order (so also by source id): the oldest is first. */
  private readonly waiting = new Set<Entry<T>>();
  private readonly byKey = new Map<string, Entry<T>[]>();
  /** Changes that came before their ItemFinished, in arrival order. */
  private readonly early = new Map<string, { by: string; at: number }>();
  private readonly waitMs: number;
  private readonly clock: BatcherClock;
  private timer: unknown;

  constructor(private readonly options: ReceivedAuthorsOptions<T>) {
    this.waitMs = options.waitMs ?? AUTHOR_WAIT_MS;
    this.clock = options.clock ?? realClock;
  }

  /** An item the puller finished: its author when its change came first, else undefined (it waits). */
  finished(key: string, value: T, sourceId: number): string | undefined {
    this.forgetOld();
    const early = this.early.get(key);
    if (early !== undefined) {
      this.early.delete(key);
      return early.by;
    }
    const entry: Entry<T> = { key, value, sourceId, at: this.clock.now() };
    this.waiting.add(entry);
    const same = this.byKey.get(key);
    if (same === undefined) this.byKey.set(key, [entry]);
    else same.push(entry);
    this.arm();
    return undefined;
  }

  /** A change the puller recorded, with its author: the finished item it completes, if one waits. */
  changed(key: string, by: string): Waiting<T> | undefined {
    this.forgetOld();
    const same = this.byKey.get(key);
    const entry = same?.shift();
    if (entry === undefined) {
      // Moved to the end: the map stays in arrival order for forgetOld.
      this.early.delete(key);
      this.early.set(key, { by, at: this.clock.now() });
      return undefined;
    }
    if (same!.length === 0) this.byKey.delete(key);
    this.waiting.delete(entry);
    return { value: entry.value, sourceId: entry.sourceId };
  }

  /** The source id of the oldest item still waiting, or null. */
  heldSince(): number | null {
    for (const entry of this.waiting) return entry.sourceId;
    return null;
  }

  /** Every item still waiting, taken out (as the notifier stops). */
  takeAll(): Waiting<T>[] {
    const all = [...this.waiting].map(({ value, sourceId }) => ({ value, sourceId }));
    this.waiting.clear();
    this.byKey.clear();
    this.early.clear();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    return all;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    const oldest = this.waiting.values().next().value;
    if (oldest === undefined) return;
    this.timer = this.clock.setTimeout(() => this.overdue(), Math.max(0, oldest.at + this.waitMs - this.clock.now()));
  }

  private overdue(): void {
    this.timer = undefined;
    const due: Waiting<T>[] = [];
    const now = this.clock.now();
    for (const entry of this.waiting) {
      if (entry.at + this.waitMs > now) break;
      this.waiting.delete(entry);
      const same = this.byKey.get(entry.key)!;
      same.splice(same.indexOf(entry), 1);
      if (same.length === 0) this.byKey.delete(entry.key);
      due.push({ value: entry.value, sourceId: entry.sourceId });
    }
    this.arm();
    if (due.length > 0) this.options.onOverdue(due);
  }

  /** A change whose item never came within the wait (one of a folder not reported, or read before a restart) is let go. */
  private forgetOld(): void {
    const now = this.clock.now();
    for (const [key, change] of this.early) {
      if (change.at + this.waitMs > now) break;
      this.early.delete(key);
    }
  }
}
