import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const CHECK_EVERY_MS = 10_000;
/** Below this share of a check's interval spent running callbacks, the daemon was idle (an idle one measured ~0.1%). */
const IDLE_UTILIZATION = 0.02;
/**
 * Heap V8 holds beyond what is in use, below which a collection is not worth its pause (~20 ms with
 * 20,000 files received). Grown by a burst, the young generation alone holds 32 MB.
 */
const SLACK_BYTES = 8 * 1024 * 1024;
/**
 * Collections in one idle spell. V8 shrinks its young generation in a full collection only when it
 * finds the allocation rate since the last collection low: the first one soon after a burst may still
 * count the burst's allocations, the next finds it low. A second one also compacts what the first left
 * of the old generation (measured: 28.9 MB committed to 24.4, RSS 92 MB to 86).
 */
const ATTEMPTS = 3;

export interface HeapSample {
  /** The event loop's utilization since the previous sample, 0 to 1. */
  utilization: number;
  totalBytes: number;
  usedBytes: number;
}

export interface IdleCollectionOptions {
  everyMs?: number;
  /** Replaced in tests. */
  sample?: () => HeapSample;
  collect?: () => void;
}

/**
 * Gives back the heap V8 keeps after a burst, once the daemon has gone idle. Receiving 100,000 files,
 * the daemon's young generation grows to its maximum (two 16 MB semi-spaces on Node 20), and V8 keeps
 * it so: it shrinks it only in a full collection, and an idle daemon allocates too little to cause
 * one. Measured on bench/big-tree's receiving daemon: 130 MB RSS idle, its heap 64.6 MB committed for
 * 37 MB in use, 32 MB of it the young generation; after one full collection, 87 MB (V8 unmaps the freed
 * pages on a helper thread: RSS falls about a second after the collection, not at once).
 */
export class IdleCollection {
  private readonly everyMs: number;
  private readonly sample: () => HeapSample;
  private readonly collect: () => void;
  private timer: NodeJS.Timeout | undefined;
  private attemptsLeft = ATTEMPTS;

  constructor(options: IdleCollectionOptions = {}) {
    this.everyMs = options.everyMs ?? CHECK_EVERY_MS;
    this.sample = options.sample ?? heapSampler();
    this.collect = options.collect ?? fullCollection;
  }

  start(): void {
    // Never what keeps the daemon running.
    this.timer ??= setInterval(() => this.check(), this.everyMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const { utilization, totalBytes, usedBytes } = this.sample();
    if (utilization >= IDLE_UTILIZATION) {
      this.attemptsLeft = ATTEMPTS;
      return;
    }
    // Once a collection gave the slack back, the next checks find none; when V8 keeps it, a few tries.
    if (this.attemptsLeft === 0 || totalBytes - usedBytes < SLACK_BYTES) return;
    this.attemptsLeft--;
    this.collect();
  }
}

function heapSampler(): () => HeapSample {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    const heap = getHeapStatistics();
    return { utilization, totalBytes: heap.total_heap_size, usedBytes: heap.used_heap_size };
  };
}

let gc: (() => void) | undefined;

/**
 * One full collection. Node offers it only with --expose-gc on its command line, which every way of
 * starting the daemon (botsync start, its systemd and launchd units, `botsync daemon`) would have to
 * pass. Set at run time, the flag holds for contexts made afterwards: one made for the purpose hands
 * its gc over, and the flag is unset again.
 */
export function fullCollection(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
  }
  gc();
}
