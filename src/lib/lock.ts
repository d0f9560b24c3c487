import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import { asIdentity, identityOf, isRunning, type ProcessIdentity } from './process-identity.js';
import { sleep } from '../time/sleep.js';
import { writeJsonAtomic } from '../workspace/state-file.js';

/**
 * One daemon per home (and one backup at a time): the lock file records its holder's identity (PID,
 * start time, command line). A lock whose process is gone, or whose PID now names another program, is
 * stale and taken over; a lock from before identities were recorded (a bare PID) cannot be checked
 * and counts as stale too, and nothing is ever signalled on the strength of it.
 *
 * Taking over must not let two processes both win: reading "stale" and replacing the file are two
 * steps, and a second process could replace the first one's fresh lock in between. So every process
 * that writes the lock first raises a flag of its own beside it (a uniquely named file holding its
 * identity), then looks at the other flags: it goes on only when no live process has one raised, and
 * lowers its flag when done. Two processes that raise flags at once see each other and both back off
 * for a random moment; one that sees none knows that any later one will see its flag. A flag left by a
 * process that died is recognised by its identity, ignored and removed.
 */

/** What a held lock means to the user; the daemon's by default. */
export type BusyError = (holder: number) => BotsyncError;

const daemonBusy: BusyError = (holder) =>
  new BotsyncError('DAEMON_RUNNING', `botsync is already running for this home (pid ${holder}).`, {
    hint: 'Stop it with `botsync stop` first if you want to restart it.',
  });

const FLAG_SUFFIX = '.taking';

export async function acquireLock(lockFile: string, pid = process.pid, busy: BusyError = daemonBusy, timeoutMs = 10_000): Promise<void> {
  const me = await identityOf(pid);
  if (me === undefined) throw new BotsyncError('INTERNAL', `Process ${pid} cannot take the lock ${lockFile}: it is not running.`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const holder = await holderOf(lockFile);
    if (holder !== undefined) throw busy(holder.pid);
    const flag = `${lockFile}.${pid}.${Math.random().toString(36).slice(2)}${FLAG_SUFFIX}`;
    await writeJsonAtomic(flag, me);
    try {
      if (await aloneAt(lockFile, flag)) {
        const again = await holderOf(lockFile);
        if (again !== undefined) throw busy(again.pid);
        await writeJsonAtomic(lockFile, me);
        return;
      }
    } finally {
      await rm(flag, { force: true });
    }
    if (Date.now() > deadline) {
      throw new BotsyncError('DAEMON_FAILED', `Could not take the lock ${lockFile}: other processes kept taking it at the same time.`, {
        hint: 'Another botsync may be starting; try again.',
      });
    }
    await sleep(10 + Math.random() * 40);
  }
}

export async function releaseLock(lockFile: string, pid = process.pid): Promise<void> {
  const [record, me] = await Promise.all([readRecord(lockFile), identityOf(pid)]);
  if (record !== undefined && me !== undefined && record.pid === me.pid && record.start === me.start) await rm(lockFile, { force: true });
}

/** The PID of the live process holding the lock, or undefined when there is none. */
export async function lockHolder(lockFile: string): Promise<number | undefined> {
  return (await holderOf(lockFile))?.pid;
}

/** The live process holding the lock, as recorded in it (checked against the process now at that PID). */
export async function holderOf(lockFile: string): Promise<ProcessIdentity | undefined> {
  const record = await readRecord(lockFile);
  return record !== undefined && (await isRunning(record)) ? record : undefined;
}

/** Whether no live process other than the owner of `flag` has a flag raised at this lock. */
async function aloneAt(lockFile: string, flag: string): Promise<boolean> {
  const dir = dirname(lockFile);
  const prefix = `${basename(lockFile)}.`;
  const others = (await readdir(dir)).filter((name) => name.startsWith(prefix) && name.endsWith(FLAG_SUFFIX) && join(dir, name) !== flag);
  for (const name of others) {
    const path = join(dir, name);
    const owner = await readRecord(path);
    if (owner !== undefined && (await isRunning(owner))) return false;
    // Lowered since the listing, or raised by a process that died with it: a unique name means no live
    // process can own it, and nobody else would ever remove it.
    await rm(path, { force: true });
  }
  return true;
}

async function readRecord(path: string): Promise<ProcessIdentity | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new BotsyncError('STATE_IO', `Cannot read the lock ${path}: ${(error as Error).message}.`, { hint: 'Check the permissions of the botsync home.', cause: error });
  }
  try {
    return asIdentity(JSON.parse(text));
  } catch {
    // Not JSON (a torn write from before lock writes were atomic): nobody can be shown to hold it.
    return undefined;
  }
}

