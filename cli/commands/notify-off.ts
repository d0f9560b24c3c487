import { turnOff } from '../../src/notify/settings.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { tellDaemon } from './notify-set.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  await turnOff(context.layout);
  await tellDaemon(context);
  context.out.result({ enabled: false }, () => 'Notifications are off. `botsync notify set` turns them on again.');
}
