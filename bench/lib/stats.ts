/** Summary figures for benchmark samples, in the units they were taken in (milliseconds here). */

export interface Summary {
  samples: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

/** Linear interpolation between closest ranks, so the median of an even count is the mean of the middle two. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function summarise(valuesMs: readonly number[]): Summary {
  return {
    samples: valuesMs.length,
    medianMs: round(median(valuesMs)),
    p90Ms: round(percentile(valuesMs, 90)),
    minMs: round(Math.min(...valuesMs)),
    maxMs: round(Math.max(...valuesMs)),
  };
}

/** Sub-0.1 ms digits are noise for process- and network-level timings. */
export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function elapsedMs(startNs: bigint, endNs: bigint = process.hrtime.bigint()): number {
  return Number(endNs - startNs) / 1e6;
}
