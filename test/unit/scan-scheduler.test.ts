import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { coalescePaths, ScanScheduler } from '../../src/daemon/scan-scheduler.js';

describe('coalescePaths', () => {
  it('keeps only the outermost of nested paths', () => {
    expect(coalescePaths(['a/b/c', 'a/b', 'a b', 'x', 'a/b/d'], 10)).toEqual(['a b', 'a/b', 'x']);
  });

  it('asks for the whole folder past the limit or when the root changed', () => {
    expect(coalescePaths(['a', 'b', 'c'], 2)).toEqual([]);
    expect(coalescePaths(['a', ''], 10)).toEqual([]);
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
