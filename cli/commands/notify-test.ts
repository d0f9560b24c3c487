import { BotsyncError } from '../../src/errors.js';
import { sendTestNotification } from '../../src/notify/status.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<number> {
  const { outcome, sentBy } = await sendTestNotification(context.layout, context.env);
  const by = sentBy === 'daemon' ? 'the daemon' : 'this shell (botsync is not running)';
  if (outcome.kind !== 'delivered') {
    throw new BotsyncError('NOTIFY_FAILED', `The test notification sent by ${by} was not delivered: ${outcome.reason}.`, {
      hint:
        outcome.kind === 'rejected'
          ? 'Check the token: `botsync notify set --url URL --token-env VAR`.'
          : sentBy === 'daemon'
            ? 'Check that the receiver is running and reachable from the daemon, which uses the HTTPS_PROXY, HTTP_PROXY and NO_PROXY it was started with: `botsync stop && botsync start` from a shell with the right ones.'
            : 'Check that the receiver is running and reachable.',
    });
  }
  context.out.result({ delivered: true, status: outcome.status, sentBy }, () =>
    sentBy === 'daemon'
      ? `Test notification delivered by the daemon (HTTP ${outcome.status}).`
      : `Test notification delivered from this shell (HTTP ${outcome.status}); botsync is not running, so this does not show that its daemon can send: run it again after \`botsync start\`.`,
  );
  return 0;
}
