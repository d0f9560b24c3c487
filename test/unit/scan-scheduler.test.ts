import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { coalescePaths, ScanScheduler } from '../../src/daemon/scan-scheduler.js';

describe('coalescePaths', () => {
  it('keeps only the outermost of nested paths', () => {
    expect(coalescePaths(['a/b/c', 'a/b', 'a b', 'x', 'a/b/d'], 10)).toEqual(['a b', 'a/b', 'x']);
  });

  it('asks for the whole folder when the root changed, or past what a scan may list at the top level', () => {
    expect(coalescePaths(['a', 'b', 'c'], 2, 2)).toEqual([]);
    expect(coalescePaths(['a', 'b', 'c'], 2)).toEqual(['a', 'b', 'c']);
    // Long names count too: the request line holds every sub-path.
    expect(coalescePaths(Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(1000, 'x')), 64)).toEqual([]);
    expect(coalescePaths(['a', ''], 10)).toEqual([]);
  });

  it('in a burst, scans a crowded directory as the directory, and a sparse one file by file', () => {
    const crowded = Array.from({ length: 20 }, (_, i) => `docs/f${i}.md`);
    expect(coalescePaths([...crowded, 'notes/a.md', 'notes/b.md', 'top.md'], 64)).toEqual(['docs', 'notes/a.md', 'notes/b.md', 'top.md']);
    const sparse = Array.from({ length: 7 }, (_, d) => Array.from({ length: 3 }, (_, f) => `d${d}/f${f}`)).flat();
    expect(coalescePaths(sparse, 64)).toEqual([...sparse].sort());
  });

  it('scans a few changes as they are, even all in one directory (it may be huge)', () => {
    const few = Array.from({ length: 10 }, (_, i) => `big/f${i}.md`);
    expect(coalescePaths(few, 64)).toEqual([...few].sort());
  });

  it('does not merge crowded directories into their parent below the limit: its other subtrees may be large', () => {
    const dirs = Array.from({ length: 10 }, (_, d) => Array.from({ length: 8 }, (_, f) => `big/d${d}/f${f}`)).flat();
    expect(coalescePaths(dirs, 64)).toEqual(Array.from({ length: 10 }, (_, d) => `big/d${d}`).sort());
  });

  it('merges only as much as the limit needs', () => {
    // 33 directories of two files each under p/: 66 paths, two over the limit of 64.
    const paths = Array.from({ length: 33 }, (_, i) => [`p/m${i}/x`, `p/m${i}/y`]).flat();
    const subs = coalescePaths(paths, 64);
    expect(subs.length).toBeLessThanOrEqual(64);
    expect(subs).not.toContain('p');
    expect(subs.filter((sub) => sub.split('/').length === 2).length).toBeGreaterThan(0);
  });

  it('never merges top-level files into a scan of the whole folder below the limit', () => {
    const top = Array.from({ length: 20 }, (_, i) => `f${i}.md`);
    expect(coalescePaths(top, 64)).toEqual([...top].sort());
  });

  it('turns a burst in one subtree into one scan of it, however many files', () => {
    const burst: string[] = [];
    for (let d = 0; d < 100; d++) for (let f = 0; f < 100; f++) burst.push(`burst/d${d}/f${f}.txt`);
    expect(coalescePaths([...burst, 'burst/d3', 'other/x.md'], 64)).toEqual(['burst', 'other/x.md']);
  });

  it('over the limit, merges less crowded directories, and lifts lone deep paths only past what a scan may list', () => {
    // 70 directories of two files each: not crowded, but 140 paths: merged into their 70 directories, then into `a`, which holds 70 changed ones.
    const paths = Array.from({ length: 70 }, (_, i) => [`a/d${i}/x`, `a/d${i}/y`]).flat();
    expect(coalescePaths([...paths, 'b/c/d/e'], 64)).toEqual(['a', 'b/c/d/e']);
    expect(coalescePaths(paths.slice(0, 60), 64)).toEqual([...paths.slice(0, 60)].sort());
    // One file changed in each of 100 directories of a big tree: 100 sub-paths, not a scan of the whole folder.
    const lone = Array.from({ length: 100 }, (_, i) => `t${i}/deep/file`);
    expect(coalescePaths(lone, 64)).toEqual([...lone].sort());
    expect(coalescePaths(lone, 64, 64)).toEqual([]);
    const spread = Array.from({ length: 2000 }, (_, i) => `t${i % 100}/d${i}/file`);
    expect(coalescePaths(spread, 64)).toEqual(Array.from({ length: 100 }, (_, i) => `t${i}`).sort());
  });
});

describe('ScanScheduler', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('scans one change after one window', async () => {
    const scans: [string, string[]][] = [];
    const scheduler = new ScanScheduler(async (folder, subs) => void scans.push([folder, subs]), { windowMs: 15 });
    scheduler.notify('shared', 'a.txt');
    await vi.advanceTimersByTimeAsync(14);
    expect(scans).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(scans).toEqual([['shared', ['a.txt']]]);
  });

  it('coalesces a burst into one scan per folder and queues changes that arrive during a scan', async () => {
    const scans: [string, string[]][] = [];
    let finish!: () => void;
    const scheduler = new ScanScheduler(
      (folder, subs) => {
        scans.push([folder, subs]);
        return new Promise<void>((resolve) => (finish = resolve));
      },
      { windowMs: 10 },
    );
    for (let i = 0; i < 20; i++) scheduler.notify('shared', `f${i}`);
    await vi.advanceTimersByTimeAsync(10);
    expect(scans).toHaveLength(1);
    expect(scans[0]![1]).toHaveLength(20);

    scheduler.notify('shared', 'late');
    await vi.advanceTimersByTimeAsync(100);
    expect(scans).toHaveLength(1); // one scan in flight per folder
    finish();
    await vi.advanceTimersByTimeAsync(10);
    expect(scans).toEqual([scans[0], ['shared', ['late']]]);
    finish();
  });

  /** A scheduler whose scans each take `scanMs`, recording when they started and what they covered. */
  function timedScheduler(scanMs: number) {
    const scans: { at: number; subs: string[] }[] = [];
    const scheduler = new ScanScheduler(
      async (_folder, subs) => {
        scans.push({ at: Date.now(), subs });
        await new Promise((resolve) => setTimeout(resolve, scanMs));
      },
      { windowMs: 15, quietMs: 150, holdMs: 1000 },
    );
    return { scans, scheduler };
  }

  it('scans the start of a burst at once, and holds what comes during the scan until the writes pause', async () => {
    const { scans, scheduler } = timedScheduler(100);
    const start = Date.now();
    // 40 files every 10 ms for 500 ms: one writer's burst.
    for (let tick = 0; tick < 50; tick++) {
      for (let i = 0; i < 40; i++) scheduler.notify('shared', `burst/d${i}/f${tick}`);
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(2000);
    expect(scans[0]!.at - start).toBeLessThanOrEqual(20);
    // The scan after the first waits for the pause (the last write at 490 ms, quiet for 150 ms).
    expect(scans).toHaveLength(2);
    expect(scans[1]!.at - start).toBeGreaterThanOrEqual(490 + 150);
    expect(scans[1]!.subs).toEqual(Array.from({ length: 40 }, (_, i) => `burst/d${i}`).sort());
  });

  it('holds a burst that does not pause for a while at most: 1 s, then twice as long each time, to 4 s', async () => {
    const { scans, scheduler } = timedScheduler(50);
    const start = Date.now();
    for (let tick = 0; tick < 1200; tick++) {
      for (let i = 0; i < 20; i++) scheduler.notify('shared', `burst/d${i}/f${tick}`);
      await vi.advanceTimersByTimeAsync(10);
    }
    const gaps = scans.slice(1).map((scan, i) => scan.at - scans[i]!.at);
    // The first part at once; then holds of about 1, 2 and 4 s (each from the first change it held, during the scan before).
    expect(scans[0]!.at - start).toBeLessThanOrEqual(20);
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    expect(gaps[0]!).toBeLessThanOrEqual(1000 + 50);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]! + 500);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(4000 + 50 + 15);
    expect(gaps.at(-1)!).toBeGreaterThan(3000);
    scheduler.close();
  });

  it('does not hold a handful of changes, nor a new burst after a quiet spell', async () => {
    const { scans, scheduler } = timedScheduler(100);
    for (let i = 0; i < 30; i++) scheduler.notify('shared', `a/f${i}`);
    await vi.advanceTimersByTimeAsync(50);
    for (let i = 0; i < 3; i++) scheduler.notify('shared', `b/f${i}`);
    await vi.advanceTimersByTimeAsync(100);
    // Three changes made during the first scan are scanned right after it.
    expect(scans.map((scan) => scan.subs)).toEqual([['a'], ['b/f0', 'b/f1', 'b/f2']]);
    await vi.advanceTimersByTimeAsync(1000);
    const quietAt = Date.now();
    for (let i = 0; i < 30; i++) scheduler.notify('shared', `c/f${i}`);
    await vi.advanceTimersByTimeAsync(15);
    expect(scans).toHaveLength(3);
    expect(scans[2]!.at - quietAt).toBe(15);
  });

  it('reports a failed scan and keeps going', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const scheduler = new ScanScheduler(
      async () => {
        calls++;
        if (calls === 1) throw new Error('Syncthing restarting');
      },
      { windowMs: 5, onError: (_folder, error) => errors.push(error) },
    );
    scheduler.notify('inbox', 'a');
    await vi.advanceTimersByTimeAsync(5);
    scheduler.notify('inbox', 'b');
    await vi.advanceTimersByTimeAsync(5);
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('does nothing after close', async () => {
    const scan = vi.fn(async () => undefined);
    const scheduler = new ScanScheduler(scan, { windowMs: 5 });
    scheduler.notify('shared', 'a');
    scheduler.close();
    await vi.advanceTimersByTimeAsync(50);
    expect(scan).not.toHaveBeenCalled();
  });
});
