/**
 * What a running process costs, read from /proc (Linux): CPU time, resident memory and the inotify
 * watches it holds, for benches that measure processes they did not start themselves (a home's
 * daemon and its Syncthing) as well as their own. Syncthing 1.x runs a monitor parent and the child
 * that works: processTree finds both from the PID a bench knows.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { errnoCode } from '../../src/errors.ts';
import { sleep } from './lifecycle.ts';
import { round } from './stats.ts';

const MiB = 1024 * 1024;
/** Clock ticks per second, the unit of utime and stime in /proc/PID/stat. */
const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A file of /proc that may vanish under us: a descriptor or process gone since it was listed. */
async function readGone(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ESRCH') return undefined;
    throw error;
  }
}

/** The inotify watches a process holds, as the kernel lists them (one `inotify wd:` line each). */
export async function inotifyWatches(pid: number | 'self'): Promise<number> {
  let count = 0;
  for (const fd of await readdir(`/proc/${pid}/fdinfo`)) {
    const info = (await readGone(`/proc/${pid}/fdinfo/${fd}`)) ?? '';
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}

/** Fields of /proc/PID/stat after the command name, which may itself hold spaces and parentheses. */
async function statFields(pid: number): Promise<string[]> {
  const stat = await readGone(`/proc/${pid}/stat`);
  if (stat === undefined) throw new Error(`process ${pid} is gone`);
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) the process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = await statFields(pid);
  // utime and stime are fields 14 and 15 of stat(5); the slice starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** The PID and every descendant of it, from /proc/PID/task/TID/children. */
export async function processTree(pid: number): Promise<number[]> {
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    const children = (await readGone(`/proc/${found[i]}/task/${found[i]}/children`)) ?? '';
    for (const child of children.trim().split(/\s+/).filter(Boolean)) found.push(Number(child));
  }
  return found;
}

/** CPU time in ms (user + system) these processes have used so far; one gone since counts 0. */
export async function cpuMs(pids: readonly number[]): Promise<number> {
  let seconds = 0;
  for (const pid of pids) if ((await readGone(`/proc/${pid}/stat`)) !== undefined) seconds += await cpuSeconds(pid);
  return seconds * 1000;
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readGone(`/proc/${pid}/status`);
  const kb = status?.match(/^VmRSS:\s+(\d+) kB$/m)?.[1];
  if (kb === undefined) throw new Error(`process ${pid} is gone`);
  return Number(kb) * 1024;
}

export interface Usage {
  /** Resident memory at the end of the window, and the most seen while sampling it. */
  rssMb: number;
  peakRssMb: number;
  /** CPU time used during the window, in percent of one core. */
  cpuPercentOfCore: number;
}

/**
 * Watches each named process for `ms`, all over the same window: CPU from /proc/PID/stat at its start
 * and end, RSS from /proc/PID/status every `everyMs`.
 */
export async function usageOver<K extends string>(pids: Record<K, number>, ms: number, everyMs = 5_000, signal?: AbortSignal): Promise<Record<K, Usage>> {
  const names = Object.keys(pids) as K[];
  const cpuAtStart = await Promise.all(names.map((name) => cpuSeconds(pids[name])));
  const started = process.hrtime.bigint();
  const peaks = names.map(() => 0);
  const sampleRss = async () => {
    const rss = await Promise.all(names.map((name) => rssBytes(pids[name])));
    rss.forEach((bytes, i) => (peaks[i] = Math.max(peaks[i]!, bytes)));
    return rss;
  };
  await sampleRss();
  for (let left = ms; left > 0; left -= everyMs) {
    await sleep(Math.min(everyMs, left));
    signal?.throwIfAborted();
    await sampleRss();
  }
  const cpuAtEnd = await Promise.all(names.map((name) => cpuSeconds(pids[name])));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rssAtEnd = await sampleRss();
  return Object.fromEntries(
    names.map((name, i) => [
      name,
      { rssMb: round(rssAtEnd[i]! / MiB), peakRssMb: round(peaks[i]! / MiB), cpuPercentOfCore: round(((cpuAtEnd[i]! - cpuAtStart[i]!) / seconds) * 100, 2) },
    ]),
  ) as Record<K, Usage>;
}
