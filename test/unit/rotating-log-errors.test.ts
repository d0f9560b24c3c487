import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RotatingLog, type RotatingLogOptions } from '../../src/lib/rotating-log.js';

/** Polls until `probe` holds; the retry runs on a real (short) timer. */
async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const text = (path: string) => readFile(path, 'utf8').catch(() => '');

// /dev/full answers every write with ENOSPC: a log whose path links there writes to a full disk, and
// removing the link frees the space. No mount needed.
describe('a rotating log on a full disk', () => {
  let dir: string;
  let path: string;
  let problems: string[];
  const unhandled: unknown[] = [];
  const onUnhandled = (error: unknown) => unhandled.push(error);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-log-'));
    path = join(dir, 'events.ndjson');
    problems = [];
    unhandled.length = 0;
    process.on('uncaughtException', onUnhandled);
  });
  /** A log whose disk is full: its path links to /dev/full. */
  async function onFullDisk(options: RotatingLogOptions = {}): Promise<RotatingLog> {
    await symlink('/dev/full', path);
    return new RotatingLog(path, { retryMs: 20, onProblem: (message) => problems.push(message), ...options });
  }

  afterEach(async () => {
    process.off('uncaughtException', onUnhandled);
    await rm(dir, { recursive: true, force: true });
  });

  it('survives ENOSPC, says so once, and writes everything held, in order, once the disk has room', async () => {
    const log = await onFullDisk();
    for (let i = 0; i < 50; i++) log.write(`line ${i}\n`);
    await until(async () => problems.length > 0, 'the failure to be reported');
    // Still failing: the retries fail as well, and are not reported again.
    for (let i = 50; i < 100; i++) log.write(`line ${i}\n`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(problems).toEqual([expect.stringMatching(/^cannot write .*events\.ndjson \(ENOSPC: no space left on device, write\); keeping what is written in memory/)]);

    await rm(path);
    await until(async () => problems.length === 2, 'the recovery to be reported');
    log.write('line 100\n');
    await log.close();
    expect(await text(path)).toBe(Array.from({ length: 101 }, (_, i) => `line ${i}\n`).join(''));
    expect(problems[1]).toBe(`${path} is writable again`);
    expect(unhandled).toEqual([]);
  });

  it('holds at most holdBytes, dropping the oldest, and says how many were dropped', async () => {
    const log = await onFullDisk({ holdBytes: 100 });
    for (let i = 0; i < 40; i++) log.write(`entry ${String(i).padStart(2, '0')}\n`);
    await until(async () => problems.length > 0, 'the failure to be reported');
    await rm(path);
    await until(async () => problems.length === 2, 'the recovery');
    await log.close();
    const lines = (await text(path)).trim().split('\n');
    // 100 bytes hold ten 9-byte entries at most; the newest ones are kept, the last one always.
    expect(lines.at(-1)).toBe('entry 39');
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(problems[1]).toMatch(new RegExp(`writable again; ${40 - lines.length} writes were dropped meanwhile$`));
  });

  it('tells each write whether it was written or given up, also when a retry failed again', async () => {
    // Only the retry timer is faked: the test decides when a retry runs; the writes are real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const heard = new Map<number, boolean[]>();
    try {
      const log = await onFullDisk({ holdBytes: 100 });
      const entry = (i: number) => log.write(`entry ${String(i).padStart(2, '0')}\n`, (written) => heard.set(i, [...(heard.get(i) ?? []), written]));
      for (let i = 0; i < 8; i++) entry(i);
      // The failed writes reported back: held, and a retry is due.
      await log.flushed();
      expect(problems).toHaveLength(1);
      vi.advanceTimersByTime(20);
      // The retry failed as well: what it tried is held again, each entry on its own.
      await log.flushed();
      // Past 100 bytes the oldest entries are given up, one at a time.
      for (let i = 8; i < 16; i++) entry(i);
      await rm(path);
      vi.advanceTimersByTime(20);
      await log.flushed();
      await log.close();
    } finally {
      vi.useRealTimers();
    }
    // Eleven 9-byte entries fit in 100 bytes: only the five oldest were given up, not all that the failed retry tried.
    const kept = Array.from({ length: 11 }, (_, i) => `entry ${String(i + 5).padStart(2, '0')}`);
    expect((await text(path)).trim().split('\n')).toEqual(kept);
    for (let i = 0; i < 16; i++) expect(heard.get(i), `entry ${i}`).toEqual([i >= 5]);
    expect(problems[1]).toBe(`${path} is writable again; 5 writes were dropped meanwhile`);
  });

  it('tells a write lost at close, and one made after it, that it was not written', async () => {
    const log = await onFullDisk();
    const heard: string[] = [];
    // Still on its way to the full disk when the log closes.
    log.write('in flight\n', (written) => heard.push(`in flight ${written}`));
    await log.close();
    log.write('after close\n', (written) => heard.push(`after close ${written}`));
    expect(heard).toEqual(['in flight false', 'after close false']);
    expect(unhandled).toEqual([]);
  });

  it('starts what it held on a new line when the failure cut a line short', async () => {
    const log = await onFullDisk();
    log.write('{"seq":2}\n');
    await until(async () => problems.length > 0, 'the failure to be reported');
    // What a write cut off by ENOSPC leaves: the start of an entry, no newline. Put in place of the full
    // disk in one rename, made on this thread: a retry reads the file's end and opens it in one
    // synchronous step, which a rename on the thread pool (fs/promises) could fall between.
    writeFileSync(`${path}.cut`, '{"seq":1}\n{"se');
    renameSync(`${path}.cut`, path);
    await until(async () => problems.length === 2, 'the recovery');
    await log.close();
    expect(await text(path)).toBe('{"seq":1}\n{"se\n{"seq":2}\n');
  });

  it('opens nothing until the first write, and closes without one', async () => {
    const log = new RotatingLog(join(dir, 'never', 'written.log'));
    await log.close();
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('gives what it still holds one last try when closed', async () => {
    const log = await onFullDisk({ retryMs: 60_000 });
    log.write('kept\n');
    await until(async () => problems.length > 0, 'the failure to be reported');
    await rm(path);
    await log.close();
    expect(await text(path)).toBe('kept\n');
  });
});
