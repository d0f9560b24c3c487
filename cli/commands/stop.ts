import { stopDaemon } from '../../src/daemon/control.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  const result = await stopDaemon(context.layout);
  const orphan = result.orphanSyncthing === undefined ? '' : ` Stopped the Syncthing (pid ${result.orphanSyncthing}) that a killed daemon left running.`;
  const unreaped =
    result.unreaped.length === 0 ? '' : ` Exited, but not yet reaped by its parent: ${result.unreaped.join(', ')} (shown as <defunct> until then; it holds no ports or files).`;
  context.out.result(
    { running: false, wasRunning: result.wasRunning, pid: result.pid ?? null, orphanSyncthing: result.orphanSyncthing ?? null, unreaped: result.unreaped },
    () => `${result.wasRunning ? `botsync stopped (pid ${result.pid}).` : 'botsync was not running.'}${orphan}${unreaped}`,
  );
}
