import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BotsyncError } from '../errors.js';
import { asIdentity, identityOf, isRunning, sameProcess, type ProcessIdentity } from './process-identity.js';
import { pollUntil } from './time/poll.js';
import { readStateText, writeJsonAtomic } from './state-file.js';

/**
 * One daemon per home (and one backup at a time): the lock file records its holder's identity (PID,
 * start time, command line). A lock whose process is gone, or whose PID now names another program, is
 * stale and taken over. A lock from before identities were recorded holds a bare PID: its owner may
 * still run (an older botsync, until it is restarted), so the live process at that PID is shown to the
 * lock's `legacy` check, which alone can tell whether it is the holder; without one it counts as stale.
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

/**
 * What the live process at a bare-PID lock's PID is to the lock: 'held' when it provably is the holder,
 * 'stale' when it provably is not, and, when that cannot be told, the error that refuses to take the
 * lock (it is never taken over, nor its process signalled, on a guess).
 */
export type LegacyCheck = (live: ProcessIdentity) => Promise<'held' | 'stale' | BotsyncError>;

export type LockState = { kind: 'free' } | { kind: 'held'; holder: ProcessIdentity } | { kind: 'unproven'; error: BotsyncError };

export interface LockOptions {
  busy?: BusyError;
  legacy?: LegacyCheck;
  timeoutMs?: number;
}

const FLAG_SUFFIX = '.taking';

export async function acquireLock(lockFile: string, pid = process.pid, { busy = daemonBusy, legacy, timeoutMs = 10_000 }: LockOptions = {}): Promise<void> {
  const me = await identityOf(pid);
  if (me === undefined) throw new BotsyncError('INTERNAL', `Process ${pid} cannot take the lock ${lockFile}: it is not running.`);
  const refuseIfTaken = async () => {
    const state = await lockState(lockFile, legacy);
    if (state.kind === 'held') throw busy(state.holder.pid);
    if (state.kind === 'unproven') throw state.error;
  };
  const taken = await pollUntil(
    async () => {
      await refuseIfTaken();
      const flag = `${lockFile}.${pid}.${Math.random().toString(36).slice(2)}${FLAG_SUFFIX}`;
      await writeJsonAtomic(flag, me);
      try {
        if (!(await aloneAt(lockFile, flag))) return undefined;
        await refuseIfTaken();
        await writeJsonAtomic(lockFile, me);
        return true;
      } finally {
        await rm(flag, { force: true });
      }
    },
    // A random moment, so that two processes that backed off together do not meet again.
    { everyMs: () => 10 + Math.random() * 40, timeoutMs },
  );
  if (taken === undefined) {
    throw new BotsyncError('DAEMON_FAILED', `Could not take the lock ${lockFile}: other processes kept taking it at the same time.`, {
      hint: 'Another botsync may be starting; try again.',
    });
  }
}

export async function releaseLock(lockFile: string, pid = process.pid): Promise<void> {
  const [record, me] = await Promise.all([readRecord(lockFile), identityOf(pid)]);
  if (typeof record === 'object' && me !== undefined && sameProcess(record, me)) await rm(lockFile, { force: true });
}

/** The PID of the live process holding the lock, or undefined when there is none (or none shown to be). */
export async function lockHolder(lockFile: string, legacy?: LegacyCheck): Promise<number | undefined> {
  return (await holderOf(lockFile, legacy))?.pid;
}

/** The live process holding the lock (checked against the process now at its PID), or undefined when none is shown to. */
export async function holderOf(lockFile: string, legacy?: LegacyCheck): Promise<ProcessIdentity | undefined> {
  const state = await lockState(lockFile, legacy);
  return state.kind === 'held' ? state.holder : undefined;
}

export async function lockState(lockFile: string, legacy?: LegacyCheck): Promise<LockState> {
  const record = await readRecord(lockFile);
  if (typeof record === 'object') return (await isRunning(record)) ? { kind: 'held', holder: record } : { kind: 'free' };
  if (record === undefined || legacy === undefined) return { kind: 'free' };
  const live = await identityOf(record);
  if (live === undefined) return { kind: 'free' };
  // Read now, not when the lock was written: from here on the identity guards every signal as a recorded one does.
  const verdict = await legacy(live);
  if (verdict === 'held') return { kind: 'held', holder: live };
  return verdict === 'stale' ? { kind: 'free' } : { kind: 'unproven', error: verdict };
}

/** Whether no live process other than the owner of `flag` has a flag raised at this lock. */
async function aloneAt(lockFile: string, flag: string): Promise<boolean> {
  const dir = dirname(lockFile);
  const prefix = `${basename(lockFile)}.`;
  const others = (await readdir(dir)).filter((name) => name.startsWith(prefix) && name.endsWith(FLAG_SUFFIX) && join(dir, name) !== flag);
  for (const name of others) {
    const path = join(dir, name);
    const owner = await readRecord(path);
    if (typeof owner === 'object' && (await isRunning(owner))) return false;
    // Lowered since the listing, or raised by a process that died with it: a unique name means no live
    // process can own it, and nobody else would ever remove it.
    await rm(path, { force: true });
  }
  return true;
}

/** The identity recorded; a number for a lock from before identities were recorded (a bare PID). */
async function readRecord(path: string): Promise<ProcessIdentity | number | undefined> {
  const text = await readStateText(path);
  if (text === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  try {
    return asIdentity(JSON.parse(text));
  } catch {
    // Not JSON (a torn write from before lock writes were atomic): nobody can be shown to hold it.
    return undefined;
  }
}

