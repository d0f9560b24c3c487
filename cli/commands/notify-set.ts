import { askDaemonOr } from '../../src/ipc/client.js';
import { setTarget } from '../../src/notify/settings.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

interface SetFlags {
  url: string;
  tokenEnv: string;
  agentId?: string;
  sessionKey?: string;
  wakeMode?: 'now' | 'next-heartbeat';
}

export async function run(context: Context, flags: SetFlags): Promise<void> {
  await loadConfig(context.layout);
  const saved = await setTarget(context.layout, flags, context.env);
  const applied = await tellDaemon(context);
  context.out.result({ url: saved.url, tokenEnv: saved.tokenEnv, tokenStored: true, applied }, () =>
    `Notifications go to ${saved.url} (token read from ${saved.tokenEnv} and stored privately).${applied ? '' : ' botsync is not running: they start with `botsync start`.'}`,
  );
}

/** Makes a running daemon reload the notification settings now; false when no daemon runs. */
export async function tellDaemon(context: Context): Promise<boolean> {
  let running = true;
  await askDaemonOr(context.layout, 'notify.reload', undefined, () => {
    running = false;
  });
  return running;
}
