import { describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../../src/lib/time/backoff.js';
import { pollUntil } from '../../src/lib/time/poll.js';

describe('pollUntil', () => {
  it('returns the first answer, asking again after each undefined', async () => {
    let attempts = 0;
    const answer = await pollUntil(async () => (++attempts === 3 ? `third` : undefined), { everyMs: 1, timeoutMs: 60_000 });
    expect(answer).toBe('third');
    expect(attempts).toBe(3);
  });

  it('keeps falsy answers: only undefined means "not yet"', async () => {
    expect(await pollUntil(async () => false, { everyMs: 1, timeoutMs: 60_000 })).toBe(false);
    expect(await pollUntil(async () => 0, { everyMs: 1, timeoutMs: 60_000 })).toBe(0);
  });

  it('gives up with undefined once the time is up, after one last attempt at the deadline', async () => {
    let attempts = 0;
    expect(await pollUntil(async () => void attempts++, { everyMs: 1, timeoutMs: 0 })).toBeUndefined();
    expect(attempts).toBe(1);
    vi.useFakeTimers();
    try {
      const times: number[] = [];
      const start = Date.now();
      const polling = pollUntil(async () => void times.push(Date.now() - start), { everyMs: 60_000, timeoutMs: 100_000 });
      await vi.advanceTimersByTimeAsync(100_000);
      expect(await polling).toBeUndefined();
      // The last wait is cut to what was left.
      expect(times).toEqual([0, 60_000, 100_000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops at once when its signal aborts, even mid-wait', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const polling = pollUntil(
      async () => {
        attempts++;
        controller.abort();
        return undefined;
      },
      // A wait and a deadline no test would sit out: the abort has to cut them short.
      { everyMs: 60_000, timeoutMs: 600_000, signal: controller.signal },
    );
    expect(await polling).toBeUndefined();
    expect(attempts).toBe(1);
  });

  it('ends with the error of an attempt, and waits as long as the function says each time', async () => {
    const waits: number[] = [];
    let attempts = 0;
    const failed = await pollUntil(
      async () => {
        if (++attempts === 4) throw new Error('broken');
        return undefined;
      },
      { everyMs: () => (waits.push(waits.length + 1), waits.length), timeoutMs: 60_000 },
    ).catch((error: unknown) => error);
    expect((failed as Error).message).toBe('broken');
    expect(waits).toEqual([1, 2, 3]);
  });
});

describe('backoffDelay', () => {
  it('doubles from the first delay per failure in a row, up to the cap', () => {
    const backoff = { initialMs: 250, maxMs: 10_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((failures) => backoffDelay(backoff, failures))).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('stays at the cap however long the failures go on, and at 0 for a zero first delay', () => {
    expect(backoffDelay({ initialMs: 500, maxMs: 30_000 }, 5000)).toBe(30_000);
    expect(backoffDelay({ initialMs: 0, maxMs: 30_000 }, 5000)).toBe(0);
  });
});
