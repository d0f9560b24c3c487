import { turnOffNotifications } from '../../src/notify/status.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  await turnOffNotifications(context.layout);
  context.out.result({ enabled: false }, () => 'Notifications are off; events are still kept for `botsync events`. `botsync notify set` turns them on again, with one summary of what happened meanwhile.');
}
