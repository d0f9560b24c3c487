import { backoffDelay, type Backoff } from './time/backoff.js';
import { systemClock, type Clock } from './time/clock.js';

/**
 * Keeps one child process running: restarts it with exponential backoff when it dies, and stops it
 * gracefully (SIGTERM, then SIGKILL after a grace period) on request. Process creation and time are
 * injected so the policy can be tested without real processes or real waiting.
 */

export interface ChildExit {
  code: number | null;
  signal: string | null;
}

export interface ChildHandle {
  pid: number | undefined;
  exited: Promise<ChildExit>;
  kill(signal: NodeJS.Signals): void;
}

export interface BackoffPolicy extends Backoff {
  /** A child that ran this long is considered healthy: the next restart starts from initialMs again. */
  resetAfterMs: number;
}

export interface SupervisorOptions<Child extends ChildHandle = ChildHandle> {
  spawn: () => Child;
  /** Called for every start; its failure is reported through onError, the child keeps running. */
  onStart?: (child: Child) => Promise<void>;
  onExit?: (exit: ChildExit, restartInMs: number) => void;
  onError?: (error: unknown) => void;
  /**
   * Awaited before each restart, after the backoff: holds the restart while the child could only fail
   * to start again (its disk is full). Resolves at once when the signal aborts (a stop); its failure
   * is reported through onError and the restart goes ahead.
   */
  beforeRestart?: (signal: AbortSignal) => Promise<void>;
  backoff?: BackoffPolicy;
  stopGraceMs?: number;
  clock?: Clock;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

export class Supervisor<Child extends ChildHandle = ChildHandle> {
  private readonly options: SupervisorOptions<Child>;
  private readonly backoff: BackoffPolicy;
  private readonly clock: Clock;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private current: Child | undefined;
  /** The running onStart: stop() waits for it, so that none of its steps runs after the stop. */
  private starting: Promise<void> | undefined;
  private restartCount = 0;

  constructor(options: SupervisorOptions<Child>) {
    this.options = options;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.clock = options.clock ?? systemClock;
  }

  get child(): Child | undefined {
    return this.current;
  }

  get restarts(): number {
    return this.restartCount;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the child and the restart loop; resolves once the child has exited. */
  async stop(): Promise<void> {
    this.stopping.abort();
    const child = this.current;
    if (child !== undefined) {
      child.kill('SIGTERM');
      const grace = new AbortController();
      const exitedInTime = await Promise.race([
        child.exited.then(() => true),
        this.clock.sleep(this.options.stopGraceMs ?? 10_000, grace.signal).then(() => false),
      ]);
      grace.abort();
      if (!exitedInTime) {
        child.kill('SIGKILL');
        await child.exited;
      }
    }
    await this.loop;
    await this.starting;
  }

  private async run(): Promise<void> {
    // Restarts since the child last ran long enough to count as healthy.
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const startedAt = this.clock.now();
      let exit: ChildExit;
      try {
        const child = this.options.spawn();
        this.current = child;
        this.starting = this.options.onStart?.(child).catch((error: unknown) => this.options.onError?.(error));
        exit = await child.exited;
        // A start is over before the next begins: what onStart does about a failed start (moving a
        // taken port) must be in place before the child is spawned again.
        await this.starting;
      } catch (error) {
        // A spawn that throws is a start that failed: reported, and tried again after the backoff,
        // rather than ending the loop (and with it every restart to come).
        this.current = undefined;
        this.options.onError?.(error);
        exit = { code: null, signal: null };
      }
      if (this.stopping.signal.aborted) break;
      if (this.clock.now() - startedAt >= this.backoff.resetAfterMs) failures = 0;
      const delay = backoffDelay(this.backoff, failures++);
      this.restartCount++;
      this.options.onExit?.(exit, delay);
      await this.clock.sleep(delay, this.stopping.signal);
      if (!this.stopping.signal.aborted) await this.options.beforeRestart?.(this.stopping.signal).catch((error: unknown) => this.options.onError?.(error));
    }
    this.current = undefined;
  }
}
