import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { startDaemonFor } from '../daemon-start.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  const result = await startDaemonFor(context);
  context.out.result({ running: true, pid: result.pid, alreadyRunning: result.alreadyRunning }, () =>
    result.alreadyRunning ? `botsync is already running (pid ${result.pid}).` : `botsync started (pid ${result.pid}).`,
  );
}
