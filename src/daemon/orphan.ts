import { asIdentity, identityOf, terminate } from '../lib/process-identity.js';
import type { Layout } from '../workspace/layout.js';
import type { DaemonState } from '../workspace/daemon-state.js';

/**
 * Stops a Syncthing that a daemon could not stop itself (it was killed with SIGKILL): the one recorded
 * in daemon.json, and only while its PID still names that process, a Syncthing of this home. PIDs are
 * reused: the number alone may by now belong to anything. An older botsync recorded the PID alone: the
 * process at it now is taken for that Syncthing only when its command line has this home's `--home=`,
 * as botsync passes it. Returns whether it stopped one.
 */
export async function stopSyncthingOf(layout: Layout, recorded: DaemonState['syncthing']): Promise<boolean> {
  // Read back from a file: checked for shape before it is trusted with a signal.
  const pid = recorded?.pid;
  const identity = asIdentity(recorded?.identity) ?? (typeof pid === 'number' ? await identityOf(pid) : undefined);
  if (identity === undefined || !identity.command.includes(`--home=${layout.syncthingHome}`)) return false;
  return terminate(identity, 10_000);
}
