/**
 * Runs steps one at a time, in the order they were given: each starts once the one before it has
 * settled, whether it succeeded or failed. Each caller gets its own step's result or error.
 */
export function serialQueue(): <T>(step: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(step: () => Promise<T>) => {
    const next = queue.then(step, step);
    // The caller of `next` gets its error; the queue only needs to know it finished.
    queue = next.catch(() => undefined);
    return next;
  };
}
