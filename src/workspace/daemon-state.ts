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
  };
  error?: { code: string; message: string; hint?: string };
}

export async function readDaemonState(layout: Layout): Promise<DaemonState | undefined> {
  return (await readJsonFile(layout.daemonFile)) as DaemonState | undefined;
}

export async function writeDaemonState(layout: Layout, state: DaemonState): Promise<void> {
  await writeJsonAtomic(layout.daemonFile, state);
}
