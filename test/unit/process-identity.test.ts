import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { readdirSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asIdentity, commandFromCmdline, contextOf, deliver, identityOf, isRunning, parseEnviron, parseProcStat, parsePsLine, processStateOf, sameProcess, survivedKill, terminate, type ProcessIdentity } from '../../src/lib/process-identity.js';
import { isPortFree } from '../../src/net/ports.js';
import { isAlive, processState, waitFor } from '../helpers/harness.js';

/** /proc/PID/stat of a process whose command name is `comm`, with these state and start fields. */
function statLine(comm: string, state: string, start: string): string {
  // Fields 4..21 (ppid .. itrealvalue), then 22 (starttime), then the rest.
  const middle = ['1', '4242', '4242', '0', '-1', '4194560', '120', '0', '0', '0', '1', '2', '0', '0', '20', '0', '1', '0'];
  return `4242 (${comm}) ${state} ${middle.join(' ')} ${start} 8192 100 18446744073709551615 1 1 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;
}

describe('reading /proc/PID/stat', () => {
  it('finds the state and start time after the command name', () => {
    expect(parseProcStat(statLine('sleep', 'S', '9876543'))).toEqual({ state: 'S', startTicks: '9876543' });
  });

  it('is not misled by spaces and parentheses in the command name', () => {
    // A name built to shift every field for a parser that splits on spaces or stops at the first ")".
    for (const comm of ['a b', 'x) R 1 2 (y', '((', ') ) )', 'tab\there']) {
      expect(parseProcStat(statLine(comm, 'S', '555'))).toEqual({ state: 'S', startTicks: '555' });
    }
  });

  it('refuses what is not a stat line', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('4242 (cut short) S 1 2')).toBeUndefined();
    expect(parseProcStat(statLine('x', 'S', 'soon'))).toBeUndefined();
  });

  it('joins /proc/PID/cmdline arguments with spaces', () => {
    expect(commandFromCmdline('node\0/a b/main.js\0daemon\0')).toBe('node /a b/main.js daemon');
    expect(commandFromCmdline('')).toBe('');
  });
});

describe("reading ps's start time and command line (macOS)", () => {
  it('splits the five-part start time from the command', () => {
    expect(parsePsLine('Mon Jan  6 09:01:02 2025 /usr/bin/syncthing serve --home=/a b')).toEqual({
      start: 'Mon Jan 6 09:01:02 2025',
      command: '/usr/bin/syncthing serve --home=/a b',
    });
    expect(parsePsLine('  Tue Dec 31 23:59:59 2024 sleep 600')).toEqual({ start: 'Tue Dec 31 23:59:59 2024', command: 'sleep 600' });
    expect(parsePsLine('12345 sleep 600')).toBeUndefined();
  });
});

describe('the identity of a live process', () => {
  const children: ChildProcess[] = [];
  let dir: string | undefined;

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function start(file: string, args: string[]): ChildProcess {
    const child = spawn(file, args, { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  it('is read from /proc, the same each time, and the start time is the real one', async () => {
    // A command name with spaces and a ")": the kernel shows it in /proc/PID/stat as it is.
    dir = await mkdtemp(join(tmpdir(), 'botsync-identity-'));
    const odd = join(dir, 'x) R 1 (y');
    await copyFile('/bin/sleep', odd);
    await chmod(odd, 0o755);
    const child = start(odd, ['600']);
    const identity = (await identityOf(child.pid!))!;
    expect(identity).toMatchObject({ pid: child.pid, command: `${odd} 600` });
    expect(await identityOf(child.pid!)).toEqual(identity);
    // starttime counts clock ticks (100 a second here) from boot; ps reports the same moment as a date.
    const bootSeconds = Number(/^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'))![1]);
    const startedAt = (bootSeconds + Number(identity.start) / 100) * 1000;
    const fromPs = (await identityOf(child.pid!, 'darwin'))!;
    expect(fromPs.command).toBe(`${odd} 600`);
    expect(Math.abs(Date.parse(fromPs.start) - startedAt)).toBeLessThan(2_000);
  });

  it('tells the recorded process from another one with the same PID', async () => {
    const child = start('sleep', ['600']);
    const identity = (await identityOf(child.pid!))!;
    expect(await isRunning(identity)).toBe(true);
    expect(await isRunning({ ...identity, start: String(Number(identity.start) - 1) })).toBe(false);
    expect(await isRunning({ ...identity, command: 'node botsync daemon' })).toBe(false);
  });

  it('has none once the process has exited, also while it is a zombie', async () => {
    const child = start('sleep', ['0']);
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await identityOf(child.pid!)).toBeUndefined();
    // A parent that forks a child which exits at once, and never reaps it (perl-base is part of every Debian).
    const parent = spawn('perl', ['-e', '$| = 1; my $child = fork(); exit 0 unless $child; print "$child\\n"; sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
    await waitFor(() => processState(zombie) === 'Z', 'the child to become a zombie');
    // kill(pid, 0) still finds it: only its state tells it has exited.
    expect(deliver(zombie, 0)).toBe(true);
    expect(await identityOf(zombie)).toBeUndefined();
    expect(await identityOf(0)).toBeUndefined();
  });

  it('is checked before a signal: terminate leaves alone a process that is not the recorded one', async () => {
    const bystander = start('sleep', ['600']);
    const real = (await identityOf(bystander.pid!))!;
    expect(await terminate({ ...real, start: '1' }, 1_000)).toEqual({ outcome: 'not-running' });
    expect(await terminate({ ...real, command: 'syncthing serve' }, 1_000)).toEqual({ outcome: 'not-running' });
    expect(isAlive(bystander.pid!)).toBe(true);
    // The test's own child: Node reaps it as soon as it sees it exit, which may be before or after terminate looks.
    expect(await terminate(real, 5_000)).toMatchObject({ outcome: 'stopped', signal: 'SIGTERM' });
    expect(await identityOf(bystander.pid!)).toBeUndefined();
  });

  it('is read back from a file only when it has the right shape', () => {
    expect(asIdentity({ pid: 1, start: '2', command: 'x' })).toEqual({ pid: 1, start: '2', command: 'x' });
    for (const value of [1234, null, 'x', { pid: '1', start: '2', command: 'x' }, { pid: 1, start: 2, command: 'x' }, { pid: 1, start: '2' }]) {
      expect(asIdentity(value)).toBeUndefined();
    }
  });
});

describe('terminate says what became of the process', () => {
  const parents: ChildProcess[] = [];
  const forked: ProcessIdentity[] = [];

  afterEach(async () => {
    for (const child of forked.splice(0)) if (await isRunning(child)) process.kill(child.pid, 'SIGKILL');
    // Killing the parent hands a zombie it held to init, which reaps it.
    for (const parent of parents.splice(0)) {
      if (parent.exitCode !== null || parent.signalCode !== null) continue;
      const exited = new Promise((resolve) => parent.once('exit', resolve));
      parent.kill('SIGKILL');
      await exited;
    }
  });

  /**
   * A perl process that runs `setup`, then sleeps, forked by a parent that never reaps it: once it exits
   * it stays a zombie, as a Syncthing does whose daemon was killed until init gets round to it. With
   * `reaps`, the parent ignores SIGCHLD, so the kernel reaps the child as it exits. Resolves once `setup` ran.
   */
  async function forkedChild(setup: string, reaps = false): Promise<ProcessIdentity> {
    const parent = spawn('perl', ['-e', `${reaps ? '$SIG{CHLD} = "IGNORE"; ' : ''}my $child = fork(); if (!$child) { exec($^X, "-e", $ARGV[0]) or die } sleep 600`, `${setup}; $| = 1; print "$$\\n"; sleep 600`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    parents.push(parent);
    const [line] = await once(createInterface({ input: parent.stdout! }), 'line');
    const identity = (await identityOf(Number(line)))!;
    forked.push(identity);
    return identity;
  }

  it('stopped on SIGTERM, not reaped yet: it has exited, and its parent has not collected it', async () => {
    const child = await forkedChild('');
    expect(await terminate(child, 5_000)).toEqual({ outcome: 'stopped', signal: 'SIGTERM', reaped: false });
    expect(processState(child.pid)).toBe('Z');
    expect(isAlive(child.pid)).toBe(false);
  });

  it('stopped on SIGKILL when it ignores SIGTERM past the grace', async () => {
    const child = await forkedChild('$SIG{TERM} = "IGNORE"');
    expect(await terminate(child, 300)).toEqual({ outcome: 'stopped', signal: 'SIGKILL', reaped: false });
    expect(processState(child.pid)).toBe('Z');
  });

  it('stopped and reaped: the PID is free', async () => {
    const child = await forkedChild('', true);
    expect(await terminate(child, 5_000)).toEqual({ outcome: 'stopped', signal: 'SIGTERM', reaped: true });
    expect(processState(child.pid)).toBeUndefined();
  });

  it('not running: a recorded process that has exited since, a zombie now, is sent nothing', async () => {
    const child = await forkedChild('$SIG{USR1} = sub { exit 0 }');
    process.kill(child.pid, 'SIGUSR1');
    await waitFor(() => processState(child.pid) === 'Z', 'the child to exit');
    const sent: unknown[] = [];
    expect(await terminate(child, 1_000, { kill: (pid, signal) => sent.push([pid, signal]) })).toEqual({ outcome: 'not-running' });
    expect(sent).toEqual([]);
  });

  it('survived: still running after SIGKILL, with its state; and the error stop reports then', async () => {
    const child = await forkedChild('$SIG{TERM} = "IGNORE"');
    const sent: unknown[] = [];
    // A SIGKILL that does not take, as for a process blocked in the kernel: this one is lost on the way.
    const kill = (pid: number, signal: NodeJS.Signals | 0) => (sent.push(signal), signal === 'SIGKILL' || process.kill(pid, signal));
    expect(await terminate(child, 200, { kill, killWaitMs: 300 })).toEqual({ outcome: 'survived', state: 'S' });
    expect(sent).toEqual(['SIGTERM', 'SIGKILL']);
    expect(await isRunning(child)).toBe(true);
    const error = survivedKill('The Syncthing a killed botsync daemon left running', child.pid, 'D');
    expect(error).toMatchObject({ code: 'STOP_FAILED', message: `The Syncthing a killed botsync daemon left running (pid ${child.pid}) is still running after SIGKILL, blocked in the kernel (state D).` });
    expect(error.hint).toMatch(new RegExp(`ps -o pid,stat,wchan -p ${child.pid}\\b.*botsync stop`));
  });
});

describe('the state of a process of many threads', () => {
  it('is its main thread\'s while that runs, and once that has exited, that of a thread still exiting', () => {
    expect(processStateOf('S', ['R', 'D'])).toBe('S');
    // The main thread is a zombie already; one thread is in an fsync: the process still holds its ports.
    expect(processStateOf('Z', ['X', 'D'])).toBe('D');
    expect(processStateOf('Z', ['X'])).toBe('Z');
    expect(processStateOf('Z', [])).toBe('Z');
  });

  it('is exited, for terminate, only once every thread has: the port it listened on is free then', async () => {
    // Node runs several threads (libuv's pool, V8's workers), as Syncthing does.
    const script = "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port));";
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = await once(createInterface({ input: child.stdout! }), 'line');
      expect(readdirSync(`/proc/${child.pid}/task`).length).toBeGreaterThan(1);
      const recorded = (await identityOf(child.pid!))!;
      expect(await terminate(recorded, 5_000)).toMatchObject({ outcome: 'stopped', signal: 'SIGTERM' });
      expect(isAlive(child.pid!)).toBe(false);
      expect(await isPortFree(Number(line))).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('a signal to a PID', () => {
  /** A kill() failing as the kernel would, with `code`. */
  const failing = (code: string) => () => {
    throw Object.assign(new Error(`kill ${code}`), { code });
  };

  it('is not delivered to a process that is gone (ESRCH) or is one of another user (EPERM: the PID was reused)', () => {
    const sent: unknown[] = [];
    expect(deliver(4242, 'SIGTERM', (pid, signal) => sent.push([pid, signal]))).toBe(true);
    expect(sent).toEqual([[4242, 'SIGTERM']]);
    expect(deliver(4242, 'SIGTERM', failing('ESRCH'))).toBe(false);
    expect(deliver(4242, 0, failing('EPERM'))).toBe(false);
    expect(() => deliver(4242, 'SIGTERM', failing('EINVAL'))).toThrow(/EINVAL/);
  });
});

describe('what else a live process shows', () => {
  it('gives its arguments as passed, its environment and its working directory', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'botsync-context-'));
    const argv = ['perl', '-e', 'sleep 600', '--', 'a b'];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', cwd, env: { PATH: process.env.PATH, MARK: 'x=y' } });
    try {
      await waitFor(async () => (await identityOf(child.pid!))?.command.startsWith('perl') === true, 'perl to exec');
      const context = await contextOf(child.pid!);
      expect(context).toEqual({ argv, env: { PATH: process.env.PATH, MARK: 'x=y' }, cwd });
      expect(await contextOf(child.pid!, 'darwin')).toEqual({ argv: undefined, env: undefined, cwd: undefined });
    } finally {
      child.kill('SIGKILL');
      await rm(cwd, { recursive: true, force: true });
    }
    expect(parseEnviron('A=1\0B=\0=odd\0C=x=y\0')).toEqual({ A: '1', B: '', C: 'x=y' });
  });

  it('is one process only with the same PID, start time and command line', () => {
    const a = { pid: 1, start: '2', command: 'x' };
    expect(sameProcess(a, { ...a })).toBe(true);
    for (const b of [{ ...a, pid: 3 }, { ...a, start: '3' }, { ...a, command: 'y' }]) expect(sameProcess(a, b)).toBe(false);
  });
});
