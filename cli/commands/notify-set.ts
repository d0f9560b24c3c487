import { setNotifications } from '../../src/notify/status.js';
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
  const result = await setNotifications(context.layout, flags, context.env);
  context.out.result({ url: result.url, tokenEnv: result.tokenEnv, tokenStored: true, applied: result.applied, summarized: result.summarized }, () =>
    [
      `Notifications go to ${result.url} (token read from ${result.tokenEnv} and stored privately).${result.applied ? '' : ' botsync is not running: they start with `botsync start`.'}`,
      ...(result.summarized === 0 ? [] : [`What happened while they were off (${result.summarized} events) goes out as one summary.`]),
    ].join('\n'),
  );
}
