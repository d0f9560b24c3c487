import { isBotsyncError } from '../errors.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { SystemStatus } from '../syncthing/rest-types.js';
import { sleepUnlessAborted } from '../lib/time/sleep.js';

/** Often while Syncthing is new (its relay and discovery answers arrive in the first seconds), then rarely. */
const EARLY_MS = 1_000;
const EARLY_PERIOD_MS = 30_000;
const STEADY_MS = 15_000;
/** Longer than Syncthing 1.19's ~12 s hold of the call during a NAT-PMP probe. */
const READ_TIMEOUT_MS = 30_000;

/**
 * Syncthing's /rest/system/status (listeners and their addresses, discovery and dial errors), read in
 * the background. Syncthing 1.19 holds that call for ~12 s while it probes NAT-PMP, at start and every
 * 30 minutes, so nothing a user or a pairing waits on may call it: readers get the last answer at once.
 */
export class SystemWatch {
  private latest: SystemStatus | undefined;
  private startedAt = Date.now();
  private readonly stopping = new AbortController();
  private wake = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly listeners: ((previous: SystemStatus | undefined, current: SystemStatus) => void)[] = [];

  constructor(
    private readonly client: SyncthingClient,
    private readonly say: (message: string) => void,
  ) {}

  /** The last status read from the Syncthing running now, if any read has finished yet. */
  current(): SystemStatus | undefined {
    return this.latest;
  }

  /** Runs whenever the listeners' addresses change (a relay joined, a NAT mapping made or lost). */
  onChange(listener: (previous: SystemStatus | undefined, current: SystemStatus) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Syncthing (re)started: what was read from the previous one no longer holds. */
  restarted(): void {
    this.latest = undefined;
    this.startedAt = Date.now();
    this.wake.abort();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const readFor = this.startedAt;
      try {
        const status = await this.client.systemStatus(READ_TIMEOUT_MS);
        if (readFor === this.startedAt) {
          const previous = this.latest;
          this.latest = status;
          if (JSON.stringify(status.connectionServiceStatus) !== JSON.stringify(previous?.connectionServiceStatus)) {
            for (const listener of this.listeners) listener(previous, status);
          }
        }
      } catch (error) {
        // Not running: the supervisor restarts it and says so; anything else is worth a line.
        if (!isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) this.say(`reading Syncthing's status failed: ${(error as Error).message}`);
      }
      if (this.wake.signal.aborted) this.wake = new AbortController();
      const early = Date.now() - this.startedAt < EARLY_PERIOD_MS;
      await sleepUnlessAborted(early ? EARLY_MS : STEADY_MS, AbortSignal.any([this.stopping.signal, this.wake.signal]));
    }
  }
}
