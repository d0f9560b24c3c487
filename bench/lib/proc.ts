/**
 * CPU time of a process and its descendants, from /proc (Linux): Syncthing 1.x runs a monitor parent
 * and the real child, so the PID a bench knows is not the one that works.
 */
import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/PID/stat's utime and stime: 100 on every Linux that Node supports. */
const TICKS_PER_S = 100;

/** The PID and every descendant of it, read from /proc/PID/task/TID/children. */
export async function processTree(pid: number): Promise<number[]> {
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    const children = await readFile(`/proc/${found[i]}/task/${found[i]}/children`, 'utf8').catch(() => '');
    for (const child of children.trim().split(/\s+/).filter(Boolean)) found.push(Number(child));
  }
  return found;
}

/** User plus system CPU time, in ms, that these processes have used so far (exited ones count 0). */
export async function cpuMs(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_S;
}
