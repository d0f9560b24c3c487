/**
 * The daemon as an ordered list of services. They start in order and stop in reverse, in a `finally`,
 * so whatever started also stops on every path: a normal stop, a start-up failure half way, a failure
 * while running. A service whose start throws has undone its own partial work; only the services
 * started before it are stopped.
 */

export interface Service {
  /** For the log: which service failed to start or stop. */
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** A service from two functions; `stop` runs only if `start` resolved. */
export function service(name: string, start: () => void | Promise<void>, stop: () => void | Promise<void> = () => undefined): Service {
  return { name, start, stop };
}

export class ServiceStopError extends Error {
  constructor(
    readonly service: string,
    cause: unknown,
  ) {
    super(`stopping ${service} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'ServiceStopError';
  }
}

/**
 * Starts `services` in order, runs `body`, and stops every started service in reverse, each one even
 * when an earlier stop threw. Rejects with the start-up or body failure if there was one; otherwise
 * with the first stop failure (something may still be running); `onStopError` hears every stop failure.
 */
export async function runServices<T>(services: readonly Service[], body: () => Promise<T>, onStopError: (error: ServiceStopError) => void): Promise<T> {
  const started: Service[] = [];
  let failure: { error: unknown } | undefined;
  let value!: T;
  try {
    for (const each of services) {
      await each.start();
      started.push(each);
    }
    value = await body();
  } catch (error) {
    failure = { error };
  } finally {
    const stopFailures = await stopInReverse(started, onStopError);
    // Decided here rather than thrown from the finally, which would hide the start-up or body failure.
    if (failure === undefined && stopFailures.length > 0) failure = { error: stopFailures[0] };
  }
  if (failure !== undefined) throw failure.error;
  return value;
}

async function stopInReverse(started: Service[], onStopError: (error: ServiceStopError) => void): Promise<ServiceStopError[]> {
  const failures: ServiceStopError[] = [];
  for (const each of [...started].reverse()) {
    try {
      await each.stop();
    } catch (error) {
      const failure = new ServiceStopError(each.name, error);
      failures.push(failure);
      onStopError(failure);
    }
  }
  return failures;
}
