import { sleepUnlessAborted } from './sleep.js';

/**
 * Time as the retry loops (supervisor, notification delivery, event stream) see it, injected so a test
 * can run their policy without real waiting.
 */
export interface Clock {
  now(): number;
  /** Resolves after ms, or as soon as the signal aborts (never rejects on abort). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep: sleepUnlessAborted };
