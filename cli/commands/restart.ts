import { restartDaemon } from '../../src/daemon/restart.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { daemonEnv } from '../daemon-start.js';

/** `start`'s answer, plus which daemon was stopped and the service that restarted it, if any. */
export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  const result = await restartDaemon(context.layout, context.entry, daemonEnv(context));
  context.out.result({ running: true, pid: result.pid, alreadyRunning: result.alreadyRunning, stopped: result.stopped, service: result.service }, () =>
    `botsync ${result.stopped === null ? 'was not running; started' : `restarted (pid ${result.stopped} -> ${result.pid})`}${result.service === null ? '' : ` by its service ${result.service}`}${result.stopped === null ? ` (pid ${result.pid})` : ''}.`,
  );
}
