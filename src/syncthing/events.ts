/**
 * Reads Syncthing's event stream for the notifier: one long-poll of `/rest/events` at a time, with
 * one fixed filter, from a cursor kept in a state file so that a restarted daemon carries on where
 * the last one stopped.
 *
 * How Syncthing's event ids behave (read in lib/api and lib/events, checked against Syncthing 1.19):
 * - A filtered call (`events=A,B`) reads a subscription that Syncthing creates on the first call with
 *   that set of types and then keeps, keyed by the set, for the life of the Syncthing process. Its ids
 *   are its own (1, 2, 3... per subscription). Any later caller with the same set, from any process or
 *   connection, reads the same subscription: a restarted daemon resumes with the same ids.
 * - The subscription only sees events from its creation on. Events such as Starting cannot be used to
 *   notice restarts through it; the restart check is Syncthing's startTime plus the ids themselves.
 * - Each subscription buffers the last 1000 events; a reader that falls behind sees the ids jump. An
 *   event may also be dropped for one subscriber (ids are assigned before delivery), which shows as a
 *   jump too.
 * - `since` beyond the newest id blocks until that id is reached and then returns only what follows:
 *   a stale cursor sent to a restarted Syncthing would silently skip events, so the stream checks for
 *   a restart before every poll, never after.
 * - `limit` returns the NEWEST n events, skipping the older ones: the stream only uses it to find the
 *   end of a subscription.
 * - The unfiltered subscription exists from Syncthing's start (ids equal to globalIDs). After a
 *   restart it still holds what happened before this stream could subscribe again (peers connecting,
 *   files pulled during the first seconds); the stream recovers those events from it. It leaves out
 *   LocalChangeDetected and RemoteChangeDetected: those are in the disk subscription (`/rest/events/disk`,
 *   its own ids, also from the start), read too, or every file pulled then would wait for its author.
 */
import { isBotsyncError } from '../errors.js';
import { readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import type { SyncthingClient } from './client.js';
import type { SyncthingEvent } from './rest-types.js';
import { backoffDelay, type Backoff } from '../lib/time/backoff.js';
import { systemClock, type Clock } from '../lib/time/clock.js';

/** The gap reason of a Syncthing restart whose events since its start were all recovered: nothing was lost. */
export const RESTARTED = 'Syncthing restarted';

/**
 * What the notifier subscribes to; StateChanged for a folder that stops as a whole (its state "error");
 * LocalChangeDetected for the conflict copies this machine's Syncthing makes (only a peer's copy comes as ItemFinished);
 * RemoteChangeDetected for who made each item received (notify/authors.ts).
 */
export const NOTIFY_EVENT_TYPES: readonly string[] = ['ItemFinished', 'DeviceConnected', 'DeviceDisconnected', 'FolderErrors', 'StateChanged', 'LocalChangeDetected', 'RemoteChangeDetected'];

/** What Syncthing's unfiltered subscription leaves out, and its disk subscription holds. */
const DISK_EVENT_TYPES = ['LocalChangeDetected', 'RemoteChangeDetected'];

function newestGlobalId(events: SyncthingEvent[]): number {
  return events.reduce((max, event) => Math.max(max, event.globalID ?? 0), 0);
}

/** The part of the REST client the stream uses (tests wrap it); without `answering`, an outage waits out its backoff. */
export type EventClient = Pick<SyncthingClient, 'events' | 'systemStatus'> & Partial<Pick<SyncthingClient, 'answering'>>;

export interface GapInfo {
  reason: string;
  /** How many events were lost, when Syncthing's ids tell. */
  count: number | null;
}

export interface EventStreamOptions {
  client: EventClient;
  /** JSON state file: `{ startTime, lastId, types }`. */
  cursorFile: string;
  /** The filter, fixed for the life of the cursor. */
  types: readonly string[];
  /**
   * Receives events in order. The cursor moves past them only once this resolved: a rejection or a
   * crash delivers them again. Events with id 0 were recovered from before the stream's subscription
   * existed (after a Syncthing restart); their id is not a cursor position.
   */
  onEvents: (events: SyncthingEvent[]) => Promise<void>;
  onGap: (info: GapInfo) => void;
  log?: (message: string) => void;
  clock?: Pick<Clock, 'sleep' | 'now'>;
  /** Long-poll duration in seconds. */
  waitS?: number;
  /**
   * The id of the oldest delivered event the consumer still holds only in memory (a batch not yet
   * written anywhere durable), or null. The saved cursor stays before it, so a crash re-delivers the
   * batch instead of losing it; 0 (a recovered event) keeps the previous cursor file as it is.
   */
  heldSince?: () => number | null;
}

interface Cursor {
  startTime: string;
  lastId: number;
}

const BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000 };
/**
 * After a poll that returned a few events, the next waits a while, so that a burst reaches the
 * consumer in batches rather than an event or two at a time: each round costs three requests, a
 * delivery and a cursor write (a 10,000-file burst is 20,000 events here). A lone event still arrives
 * at once (the long poll returns when it happens), and what follows it soon after waits GATHER_MIN_MS;
 * while events keep coming the wait doubles up to GATHER_MAX_MS, but never past the time in which
 * GATHER_BELOW events came at the rate just seen. A poll that returned that many does not wait: a
 * subscription buffers only Syncthing's last 1000 events, and a stream that far behind must catch up.
 */
const GATHER_MIN_MS = 50;
const GATHER_MAX_MS = 250;
const GATHER_BELOW = 100;
/** Polls further apart than this were waiting for news: events are not flowing, the wait starts over. */
const FLOWING_WITHIN_MS = 1_000;

/** The wait after a poll that returned `count` events (below GATHER_BELOW) `elapsedMs` after the one before, which waited `previousMs`. */
export function gatherWait(previousMs: number, count: number, elapsedMs: number): number {
  if (elapsedMs > FLOWING_WITHIN_MS) return GATHER_MIN_MS;
  const atRate = (GATHER_BELOW * elapsedMs) / Math.max(count, 1);
  return Math.max(GATHER_MIN_MS, Math.min(GATHER_MAX_MS, previousMs * 2, atRate));
}

export class EventStream {
  private readonly client: EventClient;
  private readonly cursorFile: string;
  private readonly types: string[];
  private readonly typeSet: ReadonlySet<string>;
  private readonly filterKey: string;
  private readonly onEvents: (events: SyncthingEvent[]) => Promise<void>;
  private readonly onGap: (info: GapInfo) => void;
  private readonly log: (message: string) => void;
  private readonly clock: Pick<Clock, 'sleep' | 'now'>;
  private readonly waitS: number;
  private readonly heldSince: () => number | null;

  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private cursor: Cursor | undefined;
  private savedText: string | undefined;
  /** After a recovery: events of the new subscription up to this globalID were already delivered. */
  private skipThroughGlobalId = 0;
  /** The same for the disk subscription's types, read after the unfiltered one. */
  private skipDiskThroughGlobalId = 0;
  /** Jumps up to this id were reported: a failed delivery re-reads them and must not report twice. */
  private jumpsReportedThroughId = 0;
  /** The first poll after a restart: the restart report already covers anything missing there. */
  private justRecovered = false;
  /** The Syncthing start whose restart was reported but not yet recovered (a delivery failed). */
  private restartReportedFor: string | undefined;
  private cursorReportedUnreadable = false;
  private saveFailing = false;
  /** When the last poll returned, and the wait after it. */
  private polledAt = Number.NEGATIVE_INFINITY;
  private gatherMs = GATHER_MIN_MS;

  constructor(options: EventStreamOptions) {
    if (options.types.length === 0) throw new Error('EventStream needs at least one event type: an empty filter means every event.');
    this.client = options.client;
    this.cursorFile = options.cursorFile;
    this.types = [...options.types];
    this.typeSet = new Set(this.types);
    this.filterKey = [...this.typeSet].sort().join(',');
    this.onEvents = options.onEvents;
    this.onGap = options.onGap;
    this.log = options.log ?? (() => undefined);
    this.clock = options.clock ?? systemClock;
    this.waitS = options.waitS ?? 60;
    this.heldSince = options.heldSince ?? (() => null);
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  start(): void {
    if (this.loop !== undefined) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal);
  }

  /** Ends the current poll, lets a delivery in progress finish, and saves the cursor. */
  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
    this.controller = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let outage = false;
    while (!signal.aborted) {
      try {
        await this.cycle(signal);
        if (outage) this.log('Syncthing answers again: reading events.');
        outage = false;
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        const unreachable = isBotsyncError(error, 'SYNCTHING_NOT_RUNNING');
        const transient = unreachable || isBotsyncError(error, 'SYNCTHING_TIMEOUT');
        // One line per outage, not one per retry: Syncthing may be down for minutes.
        if (!transient || !outage) this.log(`Reading Syncthing events failed: ${(error as Error).message} Retrying with backoff.`);
        outage = outage || transient;
        await this.backOff(backoffDelay(BACKOFF, failures++), unreachable, signal);
      }
    }
    await this.save();
  }

  /**
   * The wait before the next try. After Syncthing was unreachable (a restart), it ends as soon as
   * Syncthing answers again: the backoff, grown to seconds by then, would hold every notification of the
   * restarted Syncthing's first moments that long. Other failures wait it out: Syncthing answers, but not
   * this stream, and trying again at once would only fail again.
   */
  private async backOff(ms: number, unreachable: boolean, signal: AbortSignal): Promise<void> {
    if (!unreachable || this.client.answering === undefined) return this.clock.sleep(ms, signal);
    const over = new AbortController();
    const until = AbortSignal.any([signal, over.signal]);
    void this.client.answering(until).then(() => over.abort());
    await this.clock.sleep(ms, until);
    over.abort();
  }

  /** One round: make sure the cursor belongs to this Syncthing, poll once, deliver, save. */
  private async cycle(signal: AbortSignal): Promise<void> {
    const { startTime } = await this.client.systemStatus();
    if (this.cursor === undefined) {
      await this.load(startTime, signal);
    } else if (startTime !== this.cursor.startTime) {
      await this.recoverAfterRestart(startTime, signal);
    } else if (await this.subscriptionWasReset(signal)) {
      // startTime has a one-second resolution: a restart within the same second shows only in the ids.
      await this.recoverAfterRestart(startTime, signal);
    }
    const cursor = this.cursor;
    if (cursor === undefined) return;

    const events = await this.client.events(cursor.lastId, { types: this.types, waitS: this.waitS, signal });
    const now = this.clock.now();
    const elapsedMs = now - this.polledAt;
    this.polledAt = now;
    if (events.length === 0) return this.save();
    this.reportJumps(cursor.lastId, events);
    const fresh = events.filter((event) => event.id > cursor.lastId && !this.recoveredAlready(event));
    if (fresh.length > 0) await this.onEvents(fresh);
    cursor.lastId = events[events.length - 1]!.id;
    await this.save();
    if (events.length >= GATHER_BELOW) return;
    this.gatherMs = gatherWait(this.gatherMs, events.length, elapsedMs);
    await this.clock.sleep(this.gatherMs, signal);
  }

  /** First round of this process: resume from the cursor file when it belongs to this Syncthing. */
  private async load(startTime: string, signal: AbortSignal): Promise<void> {
    const saved = await this.readCursorFile();
    if (saved.cursor !== undefined && saved.cursor.startTime !== startTime) {
      this.savedText = saved.text;
      await this.recoverAfterRestart(startTime, signal);
      return;
    }
    if (saved.cursor !== undefined) {
      this.cursor = saved.cursor;
      this.savedText = saved.text;
      if (await this.subscriptionWasReset(signal)) await this.recoverAfterRestart(startTime, signal);
      return;
    }
    // No usable cursor: start at the end of the subscription. Replaying what is buffered would repeat
    // old news (the buffer may hold days of it); the cursor is saved at once, so from here on a
    // crash re-delivers instead of skipping.
    const latest = await this.client.events(0, { types: this.types, limit: 1, waitS: 0, signal });
    this.cursor = { startTime, lastId: latest[0]?.id ?? 0 };
    await this.save();
  }

  private async readCursorFile(): Promise<{ cursor?: Cursor; text?: string }> {
    let raw: unknown;
    try {
      raw = await readJsonFile(this.cursorFile);
    } catch (error) {
      if (!isBotsyncError(error, 'STATE_CORRUPT')) throw error;
      this.unreadableCursor(error.message);
      return {};
    }
    if (raw === undefined) return {};
    const value = raw as Partial<Cursor & { types: string }>;
    if (typeof value.startTime !== 'string' || !Number.isSafeInteger(value.lastId) || (value.lastId as number) < 0) {
      this.unreadableCursor(`The event cursor ${this.cursorFile} has an unexpected shape.`);
      return {};
    }
    if (value.types !== this.filterKey) {
      // Another filter reads another subscription: its ids mean nothing here. What happened in between
      // (a new version subscribing to more types, started after Syncthing) is not known, and is said.
      this.log(`The event filter changed (${value.types ?? 'none'} -> ${this.filterKey}); starting from the newest event.`);
      this.reportGap({ reason: 'the event filter changed (botsync was upgraded)', count: null });
      return {};
    }
    return { cursor: { startTime: value.startTime, lastId: value.lastId as number }, text: JSON.stringify(raw) };
  }

  /** What was missed since is unknown: say so, once, and start from the newest event. */
  private unreadableCursor(why: string): void {
    if (this.cursorReportedUnreadable) return;
    this.cursorReportedUnreadable = true;
    this.log(`${why} Starting from the newest event.`);
    this.reportGap({ reason: 'the saved event cursor was unreadable', count: null });
  }

  /** The newest id of our subscription went below the cursor, or the subscription is empty: it is new. */
  private async subscriptionWasReset(signal: AbortSignal): Promise<boolean> {
    const cursor = this.cursor;
    if (cursor === undefined || cursor.lastId === 0) return false;
    const latest = await this.client.events(0, { types: this.types, limit: 1, waitS: 0, signal });
    return latest.length === 0 || latest[0]!.id < cursor.lastId;
  }

  /**
   * Syncthing restarted: the old subscription and its ids are gone. Subscribe again first, then read
   * Syncthing's always-on unfiltered subscription for what happened before that moment, deliver it,
   * and carry on from the start of the new subscription, skipping what the recovery already covered.
   */
  private async recoverAfterRestart(startTime: string, signal: AbortSignal): Promise<void> {
    await this.client.events(0, { types: this.types, limit: 1, waitS: 0, signal });
    const all = await this.client.events(0, { waitS: 0, signal });
    const disk = DISK_EVENT_TYPES.some((type) => this.typeSet.has(type)) ? await this.client.events(0, { disk: true, waitS: 0, signal }) : [];
    const recovered = [...all, ...disk]
      .filter((event) => this.typeSet.has(event.type))
      .sort((a, b) => (a.globalID ?? 0) - (b.globalID ?? 0))
      .map((event) => ({ ...event, id: 0 }));
    if (this.restartReportedFor !== startTime) {
      // Ids start at 1 with Syncthing: a higher first id means a buffer already overflowed.
      const overflowed = [all, disk].some((events) => events.length > 0 && events[0]!.id > 1);
      this.reportGap({
        reason: overflowed ? `${RESTARTED}, and its event buffer overflowed since` : RESTARTED,
        count: null,
      });
      this.restartReportedFor = startTime;
    }
    if (recovered.length > 0) await this.onEvents(recovered);
    this.restartReportedFor = undefined;
    // Each read holds its types up to its newest event; the new subscription, made before both, the rest.
    this.skipThroughGlobalId = newestGlobalId(all);
    this.skipDiskThroughGlobalId = newestGlobalId(disk);
    this.jumpsReportedThroughId = 0;
    this.justRecovered = true;
    this.cursor = { startTime, lastId: 0 };
    this.log(`Syncthing restarted (started ${startTime}); ${recovered.length} earlier events recovered, reading a new subscription.`);
    await this.save();
  }

  /** Whether a recovery after a restart delivered this event of the new subscription already. */
  private recoveredAlready(event: SyncthingEvent): boolean {
    if (event.globalID === undefined) return false;
    return event.globalID <= (DISK_EVENT_TYPES.includes(event.type) ? this.skipDiskThroughGlobalId : this.skipThroughGlobalId);
  }

  /** Reports ids that jumped: the buffer overflowed while the stream was behind, or an event was dropped. */
  private reportJumps(lastId: number, events: SyncthingEvent[]): void {
    const newest = events[events.length - 1]!.id;
    const reportedThrough = this.jumpsReportedThroughId;
    this.jumpsReportedThroughId = Math.max(reportedThrough, newest);
    if (this.justRecovered) {
      this.justRecovered = false;
      return;
    }
    let expected = lastId + 1;
    let missing = 0;
    for (const event of events) {
      if (event.id > expected && event.id > reportedThrough) missing += event.id - expected;
      expected = Math.max(expected, event.id + 1);
    }
    if (missing > 0) this.reportGap({ reason: "Syncthing's event buffer overflowed before botsync read it", count: missing });
  }

  private reportGap(info: GapInfo): void {
    try {
      this.onGap(info);
    } catch (error) {
      // A gap report that cannot be made must not stop the events that still flow.
      this.log(`Reporting missed events failed: ${(error as Error).message}`);
    }
  }

  /**
   * A cursor that cannot be saved (a full disk) stays in memory: reading goes on, the next save tries
   * again, and a crash meanwhile reads the events since the last saved one again. Said once per outage.
   */
  private async save(): Promise<void> {
    try {
      await this.persist();
    } catch (error) {
      if (!this.saveFailing) this.log(`Saving the event cursor failed: ${(error as Error).message} It is kept in memory and saved again with the next events.`);
      this.saveFailing = true;
      return;
    }
    if (this.saveFailing) this.log('The event cursor is saved again.');
    this.saveFailing = false;
  }

  private async persist(): Promise<void> {
    const cursor = this.cursor;
    if (cursor === undefined) return;
    const held = this.heldSince();
    // A recovered event (id 0) still only in memory: the old cursor makes a crash recover it again.
    if (held !== null && held <= 0) return;
    const lastId = held === null ? cursor.lastId : Math.min(cursor.lastId, held - 1);
    const value = { startTime: cursor.startTime, lastId, types: this.filterKey };
    const text = JSON.stringify(value);
    if (text === this.savedText) return;
    await writeJsonAtomic(this.cursorFile, value);
    this.savedText = text;
  }
}
