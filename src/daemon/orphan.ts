import { asIdentity, identityOf, survivedKill, terminate, type Termination } from '../lib/process-identity.js';
import type { Layout } from '../workspace/layout.js';
import type { DaemonState } from '../workspace/daemon-state.js';

/** What became of the Syncthing left behind: terminate's account of it, with its PID once stopped. */
export type OrphanStop = { outcome: 'not-running' } | (Extract<Termination, { outcome: 'stopped' }> & { pid: number });

/**
 * Stops a Syncthing that a daemon could not stop itself (it was killed with SIGKILL): the one recorded
 * in daemon.json, and only while its PID still names that process, a Syncthing of this home. PIDs are
 * reused: the number alone may by now belong to anything. An older botsync recorded the PID alone: the
 * process at it now is taken for that Syncthing only when its command line has this home's `--home=`,
 * as botsync passes it. One that survives SIGKILL is a STOP_FAILED: a second Syncthing on the same home
 * could not start beside it.
 */
export async function stopSyncthingOf(layout: Layout, recorded: DaemonState['syncthing']): Promise<OrphanStop> {
  // Read back from a file: checked for shape before it is trusted with a signal.
  const pid = recorded?.pid;
  const identity = asIdentity(recorded?.identity) ?? (typeof pid === 'number' ? await identityOf(pid) : undefined);
  if (identity === undefined || !identity.command.includes(`--home=${layout.syncthingHome}`)) return { outcome: 'not-running' };
  const result = await terminate(identity, 10_000);
  if (result.outcome === 'survived') throw survivedKill('The Syncthing a killed botsync daemon left running', identity.pid, result.state);
  return result.outcome === 'stopped' ? { ...result, pid: identity.pid } : result;
}
