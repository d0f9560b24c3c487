import type { Layout } from '../workspace/layout.js';
import { notificationId } from './batcher.js';
import { passesFilter, type NotifyFilter } from './filter.js';
import { formatSummary } from './format.js';
import { readJournal } from './journal.js';
import { isNotified, type BotsyncEvent, type Notification } from './types.js';

/**
 * While no target is set nothing is queued; the events still go to the journal. When notifications
 * come on, what happened meanwhile is one message built from the journal, not a replay.
 *
 * It looks back to when notifications were turned off, and never more than a week: a home that was
 * never set up has no such moment, and news older than that is history for `botsync events`, not
 * something to wake an agent for.
 */
export const SUMMARY_WINDOW_MS = 7 * 24 * 60 * 60_000;

/** The summary of the journal's events from `offSince` (bounded by the window) to `now`; undefined when there were none. */
export function summaryOf(events: readonly BotsyncEvent[], offSince: string | undefined, now: number): Notification | undefined {
  const windowStart = now - SUMMARY_WINDOW_MS;
  const offAt = offSince === undefined ? Number.NaN : Date.parse(offSince);
  const from = Number.isFinite(offAt) ? Math.max(offAt, windowStart) : windowStart;
  // This machine's own changes are history, not news (no notification is sent for them either).
  const quiet = events.filter(isNotified).filter((event) => {
    const time = Date.parse(event.time);
    return time >= from && time <= now;
  });
  if (quiet.length === 0) return undefined;
  // The moment notifications went off when it is known and within the window, else the earliest event
  // counted (the journal is in the order events were reported, not always in time order).
  const since = new Date(from === offAt ? offAt : quiet.reduce((earliest, event) => Math.min(earliest, Date.parse(event.time)), now)).toISOString();
  return { id: notificationId(now), createdAt: new Date(now).toISOString(), message: formatSummary(quiet, since), eventCount: quiet.length };
}

/** Queues the summary of the quiet period that ends now, of what passes the filter, if anything happened; returns how many events it covers. */
export async function queueSummary(layout: Layout, queue: (summary: Notification) => unknown, offSince: string | undefined, filter: NotifyFilter, now = Date.now()): Promise<number> {
  const summary = summaryOf((await readJournal(layout, { since: now - SUMMARY_WINDOW_MS })).events.filter((event) => passesFilter(filter, event)), offSince, now);
  if (summary === undefined) return 0;
  await queue(summary);
  return summary.eventCount;
}
