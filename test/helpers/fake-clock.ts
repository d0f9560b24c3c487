import { expect, vi } from 'vitest';

/** Past the I/O waiting now: with setImmediate left real, what a fired timer put off to it has run. */
export const afterIo = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Moves the fake clock `ms` on, and checks that what was scanned changed to `expected` at that very
 * moment, not a millisecond before: a quiet time ends exactly then.
 */
export async function scansAt(ms: number, scanned: string[], expected: string[]): Promise<void> {
  const before = [...scanned];
  vi.advanceTimersByTime(ms - 1);
  await afterIo();
  expect(scanned).toEqual(before);
  vi.advanceTimersByTime(1);
  await afterIo();
  expect(scanned).toEqual(expected);
}
