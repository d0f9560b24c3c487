import { stopDaemon } from '../../src/daemon/control.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  const result = await stopDaemon(context.layout);
  context.out.result({ running: false, wasRunning: result.wasRunning, pid: result.pid ?? null }, () =>
    result.wasRunning ? `botsync stopped (pid ${result.pid}).` : 'botsync was not running.',
  );
}
