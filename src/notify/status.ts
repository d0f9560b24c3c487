import { randomBytes } from 'node:crypto';
import { askDaemonOr } from '../ipc/client.js';
import { httpDispatcher } from '../lib/http-dispatcher.js';
import type { Layout } from '../workspace/layout.js';
import { Outbox } from './outbox.js';
import { sendNotification, type SendOutcome } from './sender.js';
import { resolveTarget, type ResolvedTarget } from './settings.js';
import type { Notification } from './types.js';

export interface NotifyStatus {
  source: ResolvedTarget['source'];
  url: string | null;
  /** The delivery loop's state; 'stopped' when the daemon is not running. */
  state: string;
  pending: number;
  lastDeliveredAt: string | null;
  lastError: string | null;
}

/** From the daemon when it runs; from the settings and the outbox on disk when it does not. */
export function notifyStatus(layout: Layout, env: NodeJS.ProcessEnv): Promise<NotifyStatus> {
  return askDaemonOr(layout, 'notify.status', undefined, async () => {
    const { target, source } = await resolveTarget(layout, env);
    return { source, url: target?.url ?? null, state: 'stopped', pending: await new Outbox(layout.outboxDir).size(), lastDeliveredAt: null, lastError: null };
  });
}

/** Sends one notification straight to the configured target, bypassing the queue, and says what happened. */
export async function sendTestNotification(layout: Layout, env: NodeJS.ProcessEnv): Promise<SendOutcome> {
  const { target } = await resolveTarget(layout, env);
  if (target === undefined) return { kind: 'rejected', status: 0, reason: 'notifications are not set up (`botsync notify set --url URL --token-env VAR`)' };
  const notification: Notification = {
    id: `test-${Date.now()}-${randomBytes(4).toString('hex')}`,
    createdAt: new Date().toISOString(),
    message: 'botsync: this is a test notification. Files arriving from peers will be announced like this.',
    eventCount: 0,
  };
  const dispatcher = httpDispatcher(env);
  try {
    return await sendNotification(target, notification, { dispatcher });
  } finally {
    await dispatcher.close();
  }
}
