/**
 * Names of everything a run creates. Each name carries the test process's PID, so concurrent runs never
 * collide and a later run can tell (by that PID being dead) what a killed run left behind.
 */
import { readFileSync } from 'node:fs';

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

/** Whether pid is a live process; a zombie (dead, not yet reaped by its parent) counts as dead. */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    // ENOENT: no such process.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  // "PID (COMM) STATE ...": COMM may itself hold spaces and parentheses, so read after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** True for harness names whose run has ended without cleaning up. */
export function isStale(name: string): boolean {
  const pid = ownerPid(name);
  return pid !== undefined && pid !== process.pid && !isAlive(pid);
}
