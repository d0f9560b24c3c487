import { open, readFile, rm } from 'node:fs/promises';
import { BotsyncError, errnoCode } from '../errors.js';

/**
 * One daemon per home: the lock file holds the daemon's PID and is created exclusively. A lock whose
 * process is gone (a crash, a reboot) is stale and taken over.
 */
/** What a held lock means to the user; the daemon's by default. */
export type BusyError = (holder: number) => BotsyncError;

const daemonBusy: BusyError = (holder) =>
  new BotsyncError('DAEMON_RUNNING', `botsync is already running for this home (pid ${holder}).`, {
    hint: 'Stop it with `botsync stop` first if you want to restart it.',
  });

export async function acquireLock(lockFile: string, pid = process.pid, busy: BusyError = daemonBusy): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      await handle.writeFile(`${pid}\n`);
      await handle.close();
      return;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const holder = await lockHolder(lockFile);
    if (holder !== undefined) throw busy(holder);
    await rm(lockFile, { force: true });
  }
  throw new BotsyncError('DAEMON_FAILED', `Could not take the lock ${lockFile}.`, { hint: 'Another botsync may be starting; try again.' });
}

export async function releaseLock(lockFile: string, pid = process.pid): Promise<void> {
  if ((await readPid(lockFile)) === pid) await rm(lockFile, { force: true });
}

/** The PID of the live process holding the lock, or undefined when there is none. */
export async function lockHolder(lockFile: string): Promise<number | undefined> {
  const pid = await readPid(lockFile);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

async function readPid(lockFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(lockFile, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errnoCode(error) === 'EPERM';
  }
}
