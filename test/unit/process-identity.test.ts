import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asIdentity, commandFromCmdline, contextOf, deliver, identityOf, isRunning, parseEnviron, parseProcStat, parsePsLine, sameProcess, terminate } from '../../src/lib/process-identity.js';
import { isAlive, waitFor } from '../helpers/harness.js';

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
    await waitFor(async () => (await readFile(`/proc/${zombie}/stat`, 'utf8')).includes(') Z '), 'the child to become a zombie');
    expect(isAlive(zombie)).toBe(true);
    expect(await identityOf(zombie)).toBeUndefined();
    expect(await identityOf(0)).toBeUndefined();
  });

  it('is checked before a signal: terminate leaves alone a process that is not the recorded one', async () => {
    const bystander = start('sleep', ['600']);
    const real = (await identityOf(bystander.pid!))!;
    expect(await terminate({ ...real, start: '1' }, 1_000)).toBe(false);
    expect(await terminate({ ...real, command: 'syncthing serve' }, 1_000)).toBe(false);
    expect(isAlive(bystander.pid!)).toBe(true);
    expect(await terminate(real, 5_000)).toBe(true);
    expect(await identityOf(bystander.pid!)).toBeUndefined();
  });

  it('is read back from a file only when it has the right shape', () => {
    expect(asIdentity({ pid: 1, start: '2', command: 'x' })).toEqual({ pid: 1, start: '2', command: 'x' });
    for (const value of [1234, null, 'x', { pid: '1', start: '2', command: 'x' }, { pid: 1, start: 2, command: 'x' }, { pid: 1, start: '2' }]) {
      expect(asIdentity(value)).toBeUndefined();
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
