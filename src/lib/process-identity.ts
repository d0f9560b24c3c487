import { readFile } from 'node:fs/promises';
import { BotsyncError, errnoCode } from '../errors.js';
import { sleep } from '../time/sleep.js';

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
  return live !== undefined && live.start === recorded.start && live.command === recorded.command;
}

/** A value read back from a state file, if it has the shape of an identity. */
export function asIdentity(value: unknown): ProcessIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start, command } = value as Record<string, unknown>;
  return typeof pid === 'number' && typeof start === 'string' && typeof command === 'string' ? { pid, start, command } : undefined;
}

/**
 * Stops the recorded process (SIGTERM, then SIGKILL after `graceMs`), checking before each signal that
 * its PID still names it. Returns whether it was running.
 */
export async function terminate(recorded: ProcessIdentity, graceMs: number): Promise<boolean> {
  if (!(await signalIfRunning(recorded, 'SIGTERM'))) return false;
  if (await exitedWithin(recorded, graceMs)) return true;
  if (await signalIfRunning(recorded, 'SIGKILL')) await exitedWithin(recorded, 5_000);
  return true;
}

async function signalIfRunning(recorded: ProcessIdentity, signal: NodeJS.Signals): Promise<boolean> {
  if (!(await isRunning(recorded))) return false;
  try {
    process.kill(recorded.pid, signal);
    return true;
  } catch (error) {
    // It exited between the check and the signal.
    if (errnoCode(error) === 'ESRCH') return false;
    throw error;
  }
}

async function exitedWithin(recorded: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  for (let waited = 0; ; waited += 50) {
    if (await gone(recorded)) return true;
    if (waited >= timeoutMs) return false;
    await sleep(50);
  }
}

/** Exited, and reaped too: until its parent reaps it, a zombie keeps its PID, and callers expect it free. */
async function gone(recorded: ProcessIdentity): Promise<boolean> {
  if (await isRunning(recorded)) return false;
  try {
    process.kill(recorded.pid, 0);
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return true;
    throw error;
  }
  // The PID exists: a zombie, or already another process.
  return (await identityOf(recorded.pid)) !== undefined;
}

async function linuxIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  const [stat, cmdline] = await Promise.all([readProc(pid, 'stat'), readProc(pid, 'cmdline')]);
  if (stat === undefined || cmdline === undefined) return undefined;
  const fields = parseProcStat(stat);
  if (fields === undefined) throw inspectFailed(pid, `/proc/${pid}/stat is not in the expected format`);
  if (fields.state === 'Z' || fields.state === 'X') return undefined;
  return { pid, start: fields.startTicks, command: commandFromCmdline(cmdline) };
}

async function readProc(pid: number, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch (error) {
    // ESRCH: the process went away while the file was read.
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
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
