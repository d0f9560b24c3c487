import type { ProcessIdentity } from '../lib/process-identity.js';
import type { Layout } from './layout.js';
import { readJsonFile, writeJsonAtomic } from '../lib/state-file.js';

/**
 * What the running daemon publishes about itself in daemon.json, for `start`, `status` and `doctor`: a
 * state file of the home like config.json, read by commands that must not depend on the daemon's code.
 */
export interface DaemonState {
  pid: number;
  phase: 'starting' | 'running' | 'restarting' | 'failed';
  startedAt: string;
  syncthing?: {
    pid: number | undefined;
    /** Recorded when it started: what `stop` checks before it signals a Syncthing the daemon left behind. */
    identity?: ProcessIdentity;
    path: string;
    version: string;
    restarts: number;
    lastExit?: string;
    /** Why it is down and not started again yet (its database's disk is full): each folder's error in `status`. */
    held?: string;
  };
  error?: { code: string; message: string; hint?: string };
  /**
   * Set once inotify's watch limit left folder directories without the fast-scan watcher (their changes
   * wait for Syncthing's own watcher): `status` warns of it and `doctor` gives the fix.
   */
  watchLimit?: WatchLimitState;
}

export interface WatchLimitState {
  since: string;
  /** The watch limit when it was reached (fs.inotify.max_user_watches, or the user namespace's); null where it could not be read. */
  limit: number | null;
  /** The folders that met it, each with the first directory left unwatched ('' for its root). */
  folders: { id: string; dir: string }[];
}

export async function readDaemonState(layout: Layout): Promise<DaemonState | undefined> {
  return (await readJsonFile(layout.daemonFile)) as DaemonState | undefined;
}

export async function writeDaemonState(layout: Layout, state: DaemonState): Promise<void> {
  await writeJsonAtomic(layout.daemonFile, state);
}
