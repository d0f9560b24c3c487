import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fullCollection, IdleCollection, type HeapSample } from '../../src/daemon/idle-collection.js';

const MiB = 1024 * 1024;
const idle = (slackMiB: number): HeapSample => ({ utilization: 0.001, totalBytes: (20 + slackMiB) * MiB, usedBytes: 20 * MiB });
const busy: HeapSample = { utilization: 0.4, totalBytes: 64 * MiB, usedBytes: 30 * MiB };

/** The collections an IdleCollection makes over checks that sample `samples` in turn. */
function collectionsOver(samples: HeapSample[]): number[] {
  const made: number[] = [];
  let check = 0;
  const collection = new IdleCollection({ everyMs: 1_000, sample: () => samples[check++]!, collect: () => made.push(check) });
  collection.start();
  vi.advanceTimersByTime(samples.length * 1_000);
  collection.stop();
  return made;
}

describe('the idle collection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('collects once the daemon is idle with heap to give back, never while it is busy', () => {
    expect(collectionsOver([busy, busy, idle(40)])).toEqual([3]);
    expect(collectionsOver([busy, busy, busy])).toEqual([]);
  });

  it('leaves a heap with little slack alone', () => {
    expect(collectionsOver([busy, idle(6), idle(6), idle(6)])).toEqual([]);
  });

  it('collects again while slack is left, and stops once it is given back', () => {
    expect(collectionsOver([busy, idle(40), idle(12), idle(4), idle(4)])).toEqual([2, 3]);
  });

  it('tries at most three times in one idle spell where V8 keeps the slack; work since gives three more', () => {
    const spell = Array.from({ length: 6 }, () => idle(40));
    expect(collectionsOver([...spell, busy, ...spell])).toEqual([1, 2, 3, 8, 9, 10]);
  });

  it('checks nothing once stopped', () => {
    const sample = vi.fn(() => idle(40));
    const collection = new IdleCollection({ everyMs: 1_000, sample, collect: () => undefined });
    collection.start();
    vi.advanceTimersByTime(2_000);
    collection.stop();
    vi.advanceTimersByTime(5_000);
    expect(sample).toHaveBeenCalledTimes(2);
  });
});

describe('a full collection', () => {
  it('runs without --expose-gc on the command line, and leaves no gc behind in this context', () => {
    expect(() => {
      fullCollection();
      fullCollection();
    }).not.toThrow();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
