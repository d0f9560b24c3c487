import { resolve } from 'node:path';
import { holdDaemon, startDaemon, type HeldNewDaemon, type StartResult } from '../src/daemon/control.js';
import type { Context } from './context.js';

/** Starts the daemon, handing it the Syncthing binary chosen on this command line. */
export function startDaemonFor(context: Context): Promise<StartResult> {
  return startDaemon(context.layout, context.entry, daemonEnv(context));
}

/** For a home about to be set up: the daemon's process, loading while this one sets the home up (control.ts). */
export function holdDaemonFor(context: Context): Promise<HeldNewDaemon> {
  return holdDaemon(context.layout, context.entry, daemonEnv(context));
}

/** The environment a daemon started from this command gets: --syncthing, made absolute, as BOTSYNC_SYNCTHING. */
export function daemonEnv(context: Context): NodeJS.ProcessEnv {
  return context.options.syncthing === undefined ? context.env : { ...context.env, BOTSYNC_SYNCTHING: resolve(context.options.syncthing) };
}
