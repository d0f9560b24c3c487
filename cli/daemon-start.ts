import { startDaemon, type StartResult } from '../src/daemon/control.js';
import type { Context } from './context.js';

/** Starts the daemon, handing it the Syncthing binary chosen on this command line. */
export function startDaemonFor(context: Context): Promise<StartResult> {
  const env = context.options.syncthing === undefined ? context.env : { ...context.env, BOTSYNC_SYNCTHING: context.options.syncthing };
  return startDaemon(context.layout, context.entry, env);
}
