import { asIdentity, terminate, type ProcessIdentity } from '../lib/process-identity.js';
import type { Layout } from '../workspace/layout.js';

/**
 * Stops a Syncthing that a daemon could not stop itself (it was killed with SIGKILL): the one recorded
 * in daemon.json, and only while its PID still names that process, a Syncthing of this home. PIDs are
 * reused: the number alone may by now belong to anything. Returns whether it stopped one.
 */
export async function stopSyncthingOf(layout: Layout, recorded: ProcessIdentity | undefined): Promise<boolean> {
  // Read back from a file: checked for shape before it is trusted with a signal.
  const identity = asIdentity(recorded);
  if (identity === undefined || !identity.command.includes(`--home=${layout.syncthingHome}`)) return false;
  return terminate(identity, 10_000);
}
