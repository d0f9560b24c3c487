import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers this process's CPU priority to that of another process, when that one runs lower: Syncthing
 * lowers its own (its `setLowPriority` option, on by default), and a daemon left at nice 0 beside it
 * then takes the CPU first whenever both are busy. In a burst of received files the daemon's work is
 * bookkeeping for the Syncthing that pulls them, which it would starve. Returns the niceness taken,
 * or undefined when nothing changed. Raising a priority needs privileges, so it is never tried.
 */
export function matchLowerPriority(pid: number): number | undefined {
  const theirs = getPriority(pid);
  if (theirs <= getPriority()) return undefined;
  for (const thread of ownThreads()) setPriority(thread, theirs);
  return theirs;
}

/** On Linux a niceness belongs to a thread: every thread of this process (libuv's pool included), by id. */
function ownThreads(): number[] {
  return process.platform === 'linux' ? readdirSync('/proc/self/task').map(Number) : [0];
}
