import { readFile } from 'node:fs/promises';
import { BotsyncError, errnoCode } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import { isAlive } from './lock.js';

/**
 * Stops a Syncthing that a daemon could not stop itself (it was killed with SIGKILL), after checking,
 * where /proc allows, that the PID still belongs to a Syncthing of this home: PIDs are reused.
 * Returns whether it stopped one.
 */
export async function stopSyncthingOf(layout: Layout, pid: number | undefined): Promise<boolean> {
  if (pid === undefined || !isAlive(pid) || !(await isSyncthingOf(pid, layout))) return false;
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  return true;
}

async function isSyncthingOf(pid: number, layout: Layout): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(`--home=${layout.syncthingHome}`);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw new BotsyncError('DAEMON_FAILED', `Cannot inspect process ${pid}: ${(error as Error).message}`, { cause: error });
  }
}
