import { notifyStatus } from '../../src/notify/status.js';
import type { Context } from '../context.js';
import { dim, green, red, yellow } from '../output.js';
import { describeFilter } from './notify-set.js';

export async function run(context: Context): Promise<void> {
  const status = await notifyStatus(context.layout, context.env);
  context.out.result(status, () => {
    if (status.source === 'none' || status.source === 'off') {
      return `Notifications are ${status.source === 'off' ? 'off' : 'not set up'}. ${dim('Set them up with `botsync notify set --url URL --token-env VAR`, or export OPENCLAW_HOOKS_TOKEN.')}`;
    }
    const state = status.state === 'rejected' ? red('rejected') : status.state === 'retrying' ? yellow('retrying') : green(status.state);
    return [
      `Notifications go to ${status.url} (from ${status.source}): ${state}`,
      describeFilter(status),
      `pending ${status.pending}, last delivered ${status.lastDeliveredAt ?? 'never'}`,
      ...(status.lastError === null ? [] : [`last error: ${status.lastError}`]),
    ].join('\n');
  });
}
