import { readdir, readFile, readlink } from 'node:fs/promises';
import { BotsyncError, errnoCode } from '../errors.js';
import { pollUntil } from './time/poll.js';

/**
 * A process as botsync records it: the kernel reuses PIDs, so a PID alone may name an unrelated
 * program by the time it is read back. The start time and command line, read when the process is
 * recorded (the daemon lock, daemon.json) and again before botsync trusts the PID or signals it, tell
 * the recorded process from a newcomer with the same number.
 */
export interface ProcessIdentity {
  pid: number;
  /** Linux: field 22 of /proc/PID/stat (clock ticks since boot); macOS: `ps -o lstart`. */
  start: string;
  /** The arguments, space-separated. */
  command: string;
}

/** The live process with this PID, or undefined when there is none (a zombie has exited: none). */
export async function identityOf(pid: number, platform: string = process.platform): Promise<ProcessIdentity | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (platform === 'linux') return linuxIdentity(pid);
  if (platform === 'win32') {
    throw new BotsyncError('UNSUPPORTED_PLATFORM', 'botsync cannot check which program a process ID belongs to on Windows.', {
      hint: "The botsync daemon runs on Linux and macOS; on Windows run it under WSL.",
    });
  }
  return psIdentity(pid);
}

/** Whether the process recorded is still the one with its PID. */
export async function isRunning(recorded: ProcessIdentity): Promise<boolean> {
  const live = await identityOf(recorded.pid);
  return live !== undefined && sameProcess(live, recorded);
}

/** Whether two identities name one process: the same PID, started at the same moment, running the same command. */
export function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && a.start === b.start && a.command === b.command;
}

/**
 * What else tells which program a live process is: its arguments as they were passed, its environment
 * and its working directory. Each is undefined where it cannot be read (another user's process, or a
 * platform without /proc).
 */
export interface ProcessContext {
  argv: string[] | undefined;
  env: Record<string, string> | undefined;
  cwd: string | undefined;
}

export async function contextOf(pid: number, platform: string = process.platform): Promise<ProcessContext> {
  if (platform !== 'linux') return { argv: undefined, env: undefined, cwd: undefined };
  const [cmdline, environ, cwd] = await Promise.all([readProc(pid, 'cmdline', true), readProc(pid, 'environ', true), readCwd(pid)]);
  return {
    argv: cmdline === undefined ? undefined : cmdline.replace(/\0$/, '').split('\0'),
    env: environ === undefined ? undefined : parseEnviron(environ),
    cwd,
  };
}

/** /proc/PID/environ: NAME=value entries, NUL-terminated. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

async function readCwd(pid: number): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/cwd`);
  } catch (error) {
    if (['ENOENT', 'ESRCH', 'EACCES', 'EPERM'].includes(errnoCode(error) ?? '')) return undefined;
    throw inspectFailed(pid, (error as Error).message, error);
  }
}

/** A value read back from a state file, if it has the shape of an identity. */
export function asIdentity(value: unknown): ProcessIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start, command } = value as Record<string, unknown>;
  return typeof pid === 'number' && typeof start === 'string' && typeof command === 'string' ? { pid, start, command } : undefined;
}

/**
 * What terminate found and did.
 * - not-running: nothing to stop (it had exited, or its PID names another process by now); no signal sent.
 * - stopped: it exited, on SIGTERM, or on SIGKILL once the grace ran out. An exited process holds no
 *   ports, files or memory. `reaped: false`: its parent has not collected its exit status yet, so its PID
 *   still shows, as a zombie (`<defunct>` in ps), until it does; botsync cannot hasten that and has no
 *   need to wait for it (init, the parent of a process whose daemon was killed, may reap only every
 *   second or two).
 * - survived: still running after SIGKILL: blocked in the kernel (state D: a hung disk or mount).
 */
export type Termination =
  | { outcome: 'not-running' }
  | { outcome: 'stopped'; signal: 'SIGTERM' | 'SIGKILL'; reaped: boolean }
  | { outcome: 'survived'; state: string | undefined };

export interface TerminateOptions {
  /** How long it may take to exit once killed. */
  killWaitMs?: number;
  /** Sends the signals (tests stand in a kill that drops one). */
  kill?: (pid: number, signal: NodeJS.Signals | 0) => unknown;
}

/**
 * Stops the recorded process (SIGTERM, then SIGKILL after `graceMs`), checking before the SIGTERM that
 * its PID still names it, and says how it went.
 */
export async function terminate(recorded: ProcessIdentity, graceMs: number, { killWaitMs = 5_000, kill = process.kill }: TerminateOptions = {}): Promise<Termination> {
  if (!(await signalIfRunning(recorded, 'SIGTERM', kill))) return { outcome: 'not-running' };
  const afterTerm = await exitWithin(recorded, graceMs);
  if (!isLive(afterTerm)) return { outcome: 'stopped', signal: 'SIGTERM', reaped: afterTerm !== 'Z' };
  // Its PID and start time are still the ones just signalled: no other process can have them, so the
  // identity is not read again (its command line reads empty while it exits).
  const killed = deliver(recorded.pid, 'SIGKILL', kill);
  const afterKill = await exitWithin(recorded, killWaitMs);
  if (!isLive(afterKill)) return { outcome: 'stopped', signal: killed ? 'SIGKILL' : 'SIGTERM', reaped: afterKill !== 'Z' };
  return { outcome: 'survived', state: afterKill };
}

/**
 * A process that should have stopped and did not (terminate's `survived`): `what` names it ("The
 * botsync daemon").
 */
export function survivedKill(what: string, pid: number, state: string | undefined): BotsyncError {
  const how = state === 'D' ? ', blocked in the kernel (state D)' : state === undefined ? '' : ` (state ${state})`;
  return new BotsyncError('STOP_FAILED', `${what} (pid ${pid}) is still running after SIGKILL${how}.`, {
    hint: `A process waiting on a hung disk or network mount ends only once that returns: see \`ps -o pid,stat,wchan -p ${pid}\` and its mounts, then run \`botsync stop\` again.`,
  });
}

async function signalIfRunning(recorded: ProcessIdentity, signal: NodeJS.Signals, kill: TerminateOptions['kill']): Promise<boolean> {
  return (await isRunning(recorded)) && deliver(recorded.pid, signal, kill);
}

/**
 * Sends `signal` (0: none, only asks whether the PID exists and may be signalled); false when there is
 * no such process (it exited since it was checked) or when it is another user's (EPERM: so not the
 * process botsync recorded, whose PID has been reused by now).
 */
export function deliver(pid: number, signal: NodeJS.Signals | 0, kill: (pid: number, signal: NodeJS.Signals | 0) => unknown = process.kill): boolean {
  try {
    kill(pid, signal);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw error;
  }
}

/** The recorded process's state once it has exited, or after `timeoutMs` (see stateOf). */
async function exitWithin(recorded: ProcessIdentity, timeoutMs: number): Promise<string | undefined> {
  let state: string | undefined;
  await pollUntil(
    async () => {
      state = await stateOf(recorded);
      return isLive(state) ? undefined : true;
    },
    { everyMs: 50, timeoutMs },
  );
  return state;
}

/** Running, or on its way out: an exiting thread holds its process's files and ports until it is a zombie (Z) or being reaped (X). */
function isLive(state: string | undefined): state is string {
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/**
 * The state of a process as a whole, from its main thread's and its other threads' states. The main
 * thread's alone misleads: it turns Z as soon as that thread has exited, while the others (one of
 * Syncthing's finishing an fsync, say) still hold the file table they all share, its ports with it.
 * Such a process is still exiting: it takes the state of a thread that has not exited.
 */
export function processStateOf(main: string, others: readonly string[]): string {
  return isLive(main) ? main : (others.find(isLive) ?? main);
}

/**
 * The state letter of the recorded process (R, S, D, Z: a zombie...; see processStateOf), or
 * undefined once it has been reaped: its PID is free or, started at another moment, another process's.
 */
async function stateOf(recorded: ProcessIdentity): Promise<string | undefined> {
  if (process.platform === 'linux') {
    const fields = await procStat(recorded.pid);
    if (fields?.startTicks !== recorded.start) return undefined;
    return isLive(fields.state) ? fields.state : processStateOf(fields.state, await otherThreadStates(recorded.pid));
  }
  const { execa } = await import('execa');
  const result = await execa('ps', ['-o', 'stat=', '-o', 'lstart=', '-p', String(recorded.pid)], { reject: false, stdin: 'ignore', timeout: 5_000 });
  const out = String(result.stdout).trim();
  // ps exits 1 with no output when there is no such process; any other failure tells nothing, and
  // taking it for "reaped" would report a live process stopped.
  if (out === '' && result.exitCode === 1) return undefined;
  const match = result.exitCode === 0 ? /^\s*(\S+)\s+(.*)$/.exec(out) : null;
  if (match === null) throw inspectFailed(recorded.pid, `ps said: ${out || String(result.stderr).trim() || `exit ${result.exitCode}`}`);
  return match[2]!.replace(/\s+/g, ' ') === recorded.start ? match[1]!.charAt(0) : undefined;
}

async function linuxIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  const [fields, cmdline] = await Promise.all([procStat(pid), readProc(pid, 'cmdline')]);
  if (fields === undefined || cmdline === undefined) return undefined;
  if (fields.state === 'Z' || fields.state === 'X') return undefined;
  return { pid, start: fields.startTicks, command: commandFromCmdline(cmdline) };
}

/** The states of a process's threads but its main one (whose ID is the PID), from /proc/PID/task. */
async function otherThreadStates(pid: number): Promise<string[]> {
  let threads: string[];
  try {
    threads = await readdir(`/proc/${pid}/task`);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ESRCH') return [];
    throw inspectFailed(pid, (error as Error).message, error);
  }
  const others = threads.filter((tid) => tid !== String(pid));
  const stats = await Promise.all(others.map((tid) => readProc(pid, `task/${tid}/stat`)));
  return stats.flatMap((stat, i) => {
    // A thread gone between the listing and its stat has exited.
    if (stat === undefined) return [];
    const fields = parseProcStat(stat);
    if (fields === undefined) throw inspectFailed(pid, `/proc/${pid}/task/${others[i]}/stat is not in the expected format`);
    return [fields.state];
  });
}

async function procStat(pid: number): Promise<{ state: string; startTicks: string } | undefined> {
  const stat = await readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  const fields = parseProcStat(stat);
  if (fields === undefined) throw inspectFailed(pid, `/proc/${pid}/stat is not in the expected format`);
  return fields;
}

/** `orUnreadable`: undefined also when the file is not ours to read (environ and cwd of another user's process). */
async function readProc(pid: number, file: string, orUnreadable = false): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch (error) {
    // ESRCH: the process went away while the file was read.
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ESRCH' || (orUnreadable && (code === 'EACCES' || code === 'EPERM'))) return undefined;
    throw inspectFailed(pid, (error as Error).message, error);
  }
}

/**
 * The state and start time from /proc/PID/stat. The second field is the command name in parentheses,
 * and that name may itself hold spaces and parentheses: the fields that follow start after the last `)`.
 */
export function parseProcStat(text: string): { state: string; startTicks: string } | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  // Fields 3 onwards; field 22 (starttime) is the 20th of them.
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const state = fields[0];
  const startTicks = fields[19];
  if (state === undefined || startTicks === undefined || !/^\d+$/.test(startTicks)) return undefined;
  return { state, startTicks };
}

/** /proc/PID/cmdline holds the arguments NUL-terminated. */
export function commandFromCmdline(cmdline: string): string {
  return cmdline.replace(/\0$/, '').split('\0').join(' ');
}

async function psIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  const { execa } = await import('execa');
  // -ww: never cut the command line to the terminal's width.
  const result = await execa('ps', ['-ww', '-o', 'lstart=', '-o', 'command=', '-p', String(pid)], { reject: false, stdin: 'ignore', timeout: 5_000 });
  const out = String(result.stdout).trim();
  // ps exits 1 with no output when there is no such process.
  if (out === '' && result.exitCode === 1) return undefined;
  const parsed = result.exitCode === 0 ? parsePsLine(out) : undefined;
  if (parsed === undefined) throw inspectFailed(pid, `ps said: ${out || String(result.stderr).trim() || `exit ${result.exitCode}`}`);
  return { pid, ...parsed };
}

/** `ps -o lstart= -o command=`: a start like "Mon Jan  6 09:01:02 2025", then the command line. */
export function parsePsLine(line: string): { start: string; command: string } | undefined {
  const match = /^\s*(\S+\s+\S+\s+\d+\s+\d{1,2}:\d{2}:\d{2}\s+\d{4})\s+(.*)$/.exec(line);
  if (match === null) return undefined;
  return { start: match[1]!.replace(/\s+/g, ' '), command: match[2]! };
}

function inspectFailed(pid: number, why: string, cause?: unknown): BotsyncError {
  return new BotsyncError('INTERNAL', `Cannot tell which program process ${pid} is: ${why}.`, {
    hint: 'botsync needs to read /proc (Linux) or run `ps` (macOS) to check a process before it signals it.',
    cause,
  });
}
