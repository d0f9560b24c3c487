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
  const attempt = await attemptLock(lockFile, pid, legacy, Date.now() + timeoutMs);
  if (attempt.kind === 'held') throw busy(attempt.holder.pid);
  if (attempt.kind === 'contended') {
    throw new BotsyncError('DAEMON_FAILED', `Could not take the lock ${lockFile}: other processes kept taking it at the same time.`, {
      hint: 'Another botsync may be starting; try again.',
    });
  }
}

export interface HoldOptions {
  /** How long to wait for a live holder to let go. */
  waitMs: number;
  /** The error when it has not let go by then (undefined: nobody holds it, other takers kept colliding). */
  busy: (holder: number | undefined) => BotsyncError;
}

/** Callers of withLock in this process, one after the other: the lock records the process, so two of them would each see it held by the other. */
const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `work` holding the lock, waiting while another live process holds it: for a lock held a
 * moment around a read-modify-write (config.json's), where the daemon's lock is held for a lifetime
 * and refused at once when taken. A holder that died is recognised as the daemon lock's is, and its
 * lock taken over.
 */
export function withLock<T>(lockFile: string, work: () => Promise<T>, options: HoldOptions): Promise<T> {
  const run = async () => {
    await takeWaiting(lockFile, options);
    try {
      return await work();
    } finally {
      await releaseLock(lockFile);
    }
  };
  const next = (queues.get(lockFile) ?? Promise.resolve()).then(run, run);
  const settled = next.catch(() => undefined);
  queues.set(lockFile, settled);
  // The last caller out removes the entry, so the map does not grow with every lock file ever used.
  void settled.then(() => {
    if (queues.get(lockFile) === settled) queues.delete(lockFile);
  });
  return next;
}

async function takeWaiting(lockFile: string, { waitMs, busy }: HoldOptions): Promise<void> {
  const deadline = Date.now() + waitMs;
  let last = { kind: 'contended' } as Attempt;
  const taken = await pollUntil(
    async () => {
      last = await attemptLock(lockFile, process.pid, undefined, deadline);
      return last.kind === 'taken' ? true : undefined;
    },
    { everyMs: () => 5 + Math.random() * 20, timeoutMs: waitMs },
  );
  if (taken === undefined) throw busy(last.kind === 'held' ? last.holder.pid : undefined);
}

type Attempt = { kind: 'taken' } | { kind: 'held'; holder: ProcessIdentity } | { kind: 'contended' };

/** One try at the lock for `pid`: taken, held by a live process, or still contended by other takers at `deadline`. */
async function attemptLock(lockFile: string, pid: number, legacy: LegacyCheck | undefined, deadline: number): Promise<Attempt> {
  const me = await identityOf(pid);
  if (me === undefined) throw new BotsyncError('INTERNAL', `Process ${pid} cannot take the lock ${lockFile}: it is not running.`);
  const holder = async (): Promise<ProcessIdentity | undefined> => {
    const state = await lockState(lockFile, legacy);
    if (state.kind === 'unproven') throw state.error;
    return state.kind === 'held' ? state.holder : undefined;
  };
  const settled = await pollUntil<Attempt>(
    async () => {
      const before = await holder();
      if (before !== undefined) return { kind: 'held', holder: before };
      const flag = `${lockFile}.${pid}.${Math.random().toString(36).slice(2)}${FLAG_SUFFIX}`;
      await writeJsonAtomic(flag, me);
      try {
        if (!(await aloneAt(lockFile, flag))) return undefined;
        const now = await holder();
        if (now !== undefined) return { kind: 'held', holder: now };
        await writeJsonAtomic(lockFile, me);
        return { kind: 'taken' };
      } finally {
        await rm(flag, { force: true });
      }
    },
    // A random moment, so that two processes that backed off together do not meet again.
    { everyMs: () => 10 + Math.random() * 40, timeoutMs: Math.max(0, deadline - Date.now()) },
  );
  return settled ?? { kind: 'contended' };
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

