/**
 * Names of everything a run creates. Each name carries the test process's PID, so concurrent runs never
 * collide and a later run can tell (by that PID being dead) what a killed run left behind.
 */

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

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but is not ours to signal; only ESRCH means it is gone.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True for harness names whose run has ended without cleaning up. */
export function isStale(name: string): boolean {
  const pid = ownerPid(name);
  return pid !== undefined && pid !== process.pid && !isAlive(pid);
}
