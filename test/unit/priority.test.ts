import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/harness.js';

const run = promisify(execFile);
let sleeper: ChildProcess | undefined;

afterEach(() => {
  sleeper?.kill('SIGKILL');
  sleeper = undefined;
});

/** Runs matchLowerPriority in a process of its own (a lowered priority cannot be raised back) and reads every thread's niceness. */
async function matchIn(pid: number, startNice = 0): Promise<{ taken: number | null; threads: number[] }> {
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { matchLowerPriority } from './src/lib/priority.ts';
    const taken = matchLowerPriority(${pid}) ?? null;
    const nice = (tid) => { const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8'); return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); };
    console.log(JSON.stringify({ taken, threads: readdirSync('/proc/self/task').map(nice) }));`;
  // Started niced, so that every thread starts at startNice.
  const { stdout } = await run('nice', ['-n', String(startNice), process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
  return JSON.parse(stdout);
}

function niced(nice: number): number {
  sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  setPriority(sleeper.pid!, nice);
  return sleeper.pid!;
}

// /proc and nice(1): Linux, where CI runs.
describe.runIf(process.platform === 'linux')('matchLowerPriority', () => {
  it('takes a lower priority for every thread of the process', async () => {
    const result = await matchIn(niced(11));
    expect(result.taken).toBe(11);
    // Node runs several threads (V8's, libuv's pool): a niceness set for the main thread alone leaves them at 0.
    expect(result.threads.length).toBeGreaterThan(1);
    expect(result.threads.every((nice) => nice === 11)).toBe(true);
  });

  it('leaves a process that already runs as low or lower as it is', async () => {
    const result = await matchIn(niced(3), 5);
    expect(result.taken).toBeNull();
    expect(result.threads.every((nice) => nice === 5)).toBe(true);
  });
});
