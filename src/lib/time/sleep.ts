/**
 * Waits `ms`, or less when `signal` aborts; resolves either way (an abort is a wake-up, not an error),
 * so loops that sleep between attempts stop promptly when they are asked to.
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
