import { filterStatus, setNotifications } from '../../src/notify/status.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

interface SetFlags {
  url?: string;
  tokenEnv?: string;
  agentId?: string;
  sessionKey?: string;
  wakeMode?: 'now' | 'next-heartbeat';
  folders?: string;
  events?: string;
}

export async function run(context: Context, flags: SetFlags): Promise<void> {
  await loadConfig(context.layout);
  const result = await setNotifications(context.layout, flags, context.env);
  context.out.result({ url: result.url, tokenEnv: result.tokenEnv, tokenStored: true, ...filterStatus(result.filter), applied: result.applied, summarized: result.summarized }, () =>
    [
      `Notifications go to ${result.url} (${result.tokenEnv === null ? 'the token stored before is kept' : `token read from ${result.tokenEnv} and stored privately`}).${result.applied ? '' : ' botsync is not running: they start with `botsync start`.'}`,
      describeFilter(filterStatus(result.filter)),
      ...(result.summarized === 0 ? [] : [`What happened while they were off (${result.summarized} events) goes out as one summary.`]),
    ].join('\n'),
  );
}

/** One line on what wakes the agent, for `notify set` and `notify status`. */
export function describeFilter(filter: ReturnType<typeof filterStatus>): string {
  const folders = filter.folders === null ? 'every folder' : `folders ${filter.folders.join(', ')}`;
  const events = filter.events === null ? 'every kind of event' : `${filter.events.join(', ')} (and errors)`;
  return `Sent for ${folders}; ${events}.`;
}
