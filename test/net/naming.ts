/**
 * Names of everything a run creates. Each name carries the test process's PID, so concurrent runs never
 * collide and a later run can tell (by that PID being dead) what a killed run left behind.
 */
import { readdirSync, readFileSync } from 'node:fs';

const PREFIX = 'bsn';
const PATTERN = /^bsn-(\d+)-(\d+)-/;

let builds = 0;

/** A fresh tag for one build in this process: `bsn-<pid>-<n>-`. */
export function nextRunTag(): string {
  builds += 1;
  return `${PREFIX}-${process.pid}-${builds}-`;
}

/** The PID a harness name belongs to, or undefined for names this harness did not make. */
export function ownerPid(name: string): number | undefined {
  const match = PATTERN.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Whether pid is a live process; a zombie (dead, not yet reaped by its parent) counts as dead, but only
 * once every thread of it has exited: its main thread is a zombie before the others are, and they hold
 * its files and ports until they are (processStateOf in src/lib/process-identity.ts).
 */
export function isAlive(pid: number): boolean {
  const state = threadState(`/proc/${pid}/stat`);
  if (state !== 'Z') return state !== undefined;
  const threads = readdirOrNone(`/proc/${pid}/task`);
  return threads.some((tid) => tid !== String(pid) && !['Z', 'X', undefined].includes(threadState(`/proc/${pid}/task/${tid}/stat`)));
}

/** The state letter in a stat file of /proc, or undefined when there is none (the thread is gone). */
function threadState(path: string): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw error;
  }
  // "PID (COMM) STATE ...": COMM may itself hold spaces and parentheses, so read after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

function readdirOrNone(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return [];
    throw error;
  }
}

/** True for harness names whose run has ended without cleaning up. */
export function isStale(name: string): boolean {
  const pid = ownerPid(name);
  return pid !== undefined && pid !== process.pid && !isAlive(pid);
}
