/** Exponential backoff: initialMs, doubling with each failure in a row, never above maxMs. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The wait after `failures` earlier failures in a row (0 for the first). */
export function backoffDelay({ initialMs, maxMs }: Backoff, failures: number): number {
  // Capped before it grows: 2 ** 1024 is Infinity, and 0 * Infinity is NaN.
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures, 40));
}
