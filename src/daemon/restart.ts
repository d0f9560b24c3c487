import { restartService } from '../service/manager.js';
import type { Layout } from '../workspace/layout.js';
import { startDaemon, stopDaemon, type StartResult } from './control.js';

export interface RestartResult extends StartResult {
  /** The PID of the daemon that was stopped; null when none ran. */
  stopped: number | null;
  /** The service that restarted it, when one runs the daemon (`botsync service install`). */
  service: string | null;
}

/**
 * Stops the daemon and starts it again. A daemon run by its service is restarted by the service
 * manager: stopped and started from the shell, it would end up outside the service, which would then
 * show as stopped.
 */
export async function restartDaemon(layout: Layout, entry: string, env: NodeJS.ProcessEnv): Promise<RestartResult> {
  const managed = await restartService(layout, { script: entry, env });
  if (managed !== undefined) return { pid: managed.pid, alreadyRunning: false, stopped: managed.stopped, service: managed.name };
  const stopped = await stopDaemon(layout);
  const started = await startDaemon(layout, entry, env);
  return { ...started, stopped: stopped.pid ?? null, service: null };
}
