import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { askDaemonOr } from '../ipc/client.js';
import { isBotsyncError } from '../errors.js';
import { httpDispatcher } from '../lib/http-dispatcher.js';
import type { Layout } from '../workspace/layout.js';
import { Outbox } from './outbox.js';
import { DEFAULT_TIMEOUT_MS, sendNotification, type SendOutcome } from './sender.js';
import { resolveTarget, setTarget, turnOff, type ResolvedTarget, type SetOptions } from './settings.js';
import { queueSummary } from './summary.js';
import type { EventKind, NotifyFilter } from './filter.js';
import type { Notification, NotifyTarget } from './types.js';

export interface NotifyStatus {
  source: ResolvedTarget['source'];
  url: string | null;
  /** The folders and kinds notified about; null: all. */
  folders: string[] | null;
  events: EventKind[] | null;
  /** The delivery loop's state; 'stopped' when the daemon is not running. */
  state: string;
  /** Notifications in the outbox now, whoever counts them. */
  pending: number;
  lastDeliveredAt: string | null;
  lastError: string | null;
}

/** From the daemon when it runs; from the settings and the outbox on disk when it does not. */
export function notifyStatus(layout: Layout, env: NodeJS.ProcessEnv): Promise<NotifyStatus> {
  return askDaemonOr(layout, 'notify.status', undefined, async () => {
    const { target, source, filter } = await resolveTarget(layout, env);
    return { source, url: target?.url ?? null, ...filterStatus(filter), state: 'stopped', pending: await new Outbox(layout.outboxDir).size(), lastDeliveredAt: null, lastError: null };
  });
}

/** A filter as status shows it: null for no limit. */
export function filterStatus(filter: NotifyFilter): { folders: string[] | null; events: EventKind[] | null } {
  return { folders: filter.folders ?? null, events: filter.events ?? null };
}

export interface SetResult {
  url: string;
  /** null: the token stored before was kept (only the filters changed). */
  tokenEnv: string | null;
  filter: NotifyFilter;
  /** Whether a running daemon took the new target. */
  applied: boolean;
  /** How many earlier events the one summary queued now covers; 0 when none was (not the first `notify set`, or nothing happened). */
  summarized: number;
}

/**
 * Stores the target and has the daemon apply it; the daemon queues the summary of what happened while
 * notifications were off. Without a daemon that is done here, from this shell's view of the previous
 * target, and the daemon sends it once it starts.
 */
export async function setNotifications(layout: Layout, options: SetOptions, env: NodeJS.ProcessEnv): Promise<SetResult> {
  const before = await previousTarget(layout, env);
  const saved = await setTarget(layout, options, env);
  return askDaemonOr(layout, 'notify.reload', undefined, async () => ({
    summarized: before.target === undefined ? await queueSummary(layout, (summary) => new Outbox(layout.outboxDir).add(summary), before.offSince, saved.filter) : 0,
    applied: false,
  })).then((reloaded) => ({ ...saved, applied: true, ...reloaded }));
}

/** Records that notifications are off and has a running daemon stop queueing them; returns whether one did. */
export async function turnOffNotifications(layout: Layout): Promise<{ applied: boolean }> {
  await turnOff(layout);
  return askDaemonOr(layout, 'notify.reload', undefined, () => ({ applied: false })).then((reloaded) => ({ applied: true, ...reloaded }));
}

async function previousTarget(layout: Layout, env: NodeJS.ProcessEnv): Promise<ResolvedTarget> {
  try {
    return await resolveTarget(layout, env);
  } catch (error) {
    // A broken notify.json is what `notify set` replaces; it named no target that worked.
    if (isBotsyncError(error, 'STATE_CORRUPT')) return { target: undefined, source: 'none', filter: {} };
    throw error;
  }
}

export interface TestResult {
  outcome: SendOutcome;
  /** 'daemon': sent by the running daemon, the way real notifications go; 'cli': no daemon ran, sent from this process. */
  sentBy: 'daemon' | 'cli';
}

/** Room, beyond the send's own timeout, for the daemon to answer. */
const TEST_ANSWER_MARGIN_MS = 10_000;

/** Sends one notification now, bypassing the queue: by the daemon when it runs, else from here. */
export async function sendTestNotification(layout: Layout, env: NodeJS.ProcessEnv): Promise<TestResult> {
  return askDaemonOr(
    layout,
    'notify.test',
    undefined,
    async (): Promise<TestResult> => {
      const { target } = await resolveTarget(layout, env);
      const dispatcher = httpDispatcher(env);
      try {
        return { outcome: await sendTest(target, dispatcher), sentBy: 'cli' };
      } finally {
        await dispatcher.close();
      }
    },
    DEFAULT_TIMEOUT_MS + TEST_ANSWER_MARGIN_MS,
  ).then((answer) => ('sentBy' in answer ? answer : { outcome: answer, sentBy: 'daemon' }));
}

/** The test notification itself, for the daemon and for the CLI without one. */
export async function sendTest(target: NotifyTarget | undefined, dispatcher: Dispatcher): Promise<SendOutcome> {
  if (target === undefined) return { kind: 'rejected', status: 0, reason: 'notifications are not set up (`botsync notify set --url URL --token-env VAR`)' };
  const notification: Notification = {
    id: `test-${Date.now()}-${randomBytes(4).toString('hex')}`,
    createdAt: new Date().toISOString(),
    message: 'botsync: this is a test notification. Files arriving from peers will be announced like this.',
    eventCount: 0,
  };
  return sendNotification(target, notification, { dispatcher });
}
