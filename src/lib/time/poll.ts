import { sleepUnlessAborted } from './sleep.js';

export interface PollOptions {
  /** How long to wait between attempts; a function for a wait that varies (a random one, against lockstep). */
  everyMs: number | (() => number);
  timeoutMs: number;
  /** Stops the polling early: the result is then undefined, as for a timeout. */
  signal?: AbortSignal;
}

/**
 * Calls `attempt` until it returns something other than undefined, and returns that; undefined once
 * `timeoutMs` has passed (after one last attempt at the deadline) or `signal` aborted. Errors of
 * `attempt` end the polling. The waits are the one abortable sleep, never longer than what is left.
 */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, { everyMs, timeoutMs, signal = new AbortController().signal }: PollOptions): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await sleepUnlessAborted(Math.min(typeof everyMs === 'number' ? everyMs : everyMs(), left), signal);
    if (signal.aborted) return undefined;
  }
}
