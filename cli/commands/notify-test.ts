import { BotsyncError } from '../../src/errors.js';
import { sendTestNotification } from '../../src/notify/status.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<number> {
  const outcome = await sendTestNotification(context.layout, context.env);
  if (outcome.kind !== 'delivered') {
    throw new BotsyncError('NOTIFY_FAILED', `The test notification was not delivered: ${outcome.reason}.`, {
      hint: outcome.kind === 'rejected' ? 'Check the token: `botsync notify set --url URL --token-env VAR`.' : 'Check that the receiver is running and reachable.',
    });
  }
  context.out.result({ delivered: true, status: outcome.status }, () => `Test notification delivered (HTTP ${outcome.status}).`);
  return 0;
}
