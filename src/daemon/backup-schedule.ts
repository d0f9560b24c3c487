import { nextBackupAt, readBackupState, recordBackup, retryDelay } from '../backup/backup-state.js';
import { loadBackupSettings } from '../backup/settings.js';
import { parseInterval } from '../lib/time/duration.js';
import { backupNow, pruneSnapshots } from '../backup/snapshot.js';
import { isBotsyncError } from '../errors.js';
import type { BackupFailedEvent } from '../notify/types.js';
import type { Layout } from '../workspace/layout.js';

/** Timers cannot wait longer than ~24.8 days; a longer wait is planned again on waking. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Scheduled backups: the next one is due an interval after the last success (or, after a failure,
 * after a shorter retry delay), so a daemon restart neither skips nor repeats one. The outcome is what
 * `backup now` records, so `backup status` and `status` show it whoever made the backup. Each
 * successful run is followed by a prune with the configured retention policy. No failure escapes a
 * run, whatever fails (a backup, settings that are corrupt or gone, the state file): it is recorded
 * where `backup status` reads it, announced (`backup.failed`, once per kind until a success), and retried.
 */
export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The interval of the last settings read: how soon to retry when the settings themselves cannot be read. */
  private interval: number | undefined;
  /** The failure announced last; the same one again is recorded and logged, not announced. */
  private announced: string | undefined;
  /** The next run retries a failed one: it is due whatever the state file says (recording the failure may have failed too). */
  private retryDue = false;

  constructor(
    private readonly layout: Layout,
    private readonly env: NodeJS.ProcessEnv,
    private readonly version: string,
    private readonly say: (message: string) => void,
    private readonly announce: (event: BackupFailedEvent) => void,
  ) {}

  /** Plans the first run; settings that cannot be read are a failure like any other (recorded, announced, retried). */
  async start(): Promise<void> {
    await this.plan().catch((error: unknown) => this.failed('reading the settings', error));
  }

  /** (Re)reads the settings and plans the next run; call after `backup config`. What is wrong is thrown, and retried later. */
  async reload(): Promise<void> {
    try {
      await this.plan();
    } catch (error) {
      this.wake(retryDelay(this.interval));
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async plan(): Promise<void> {
    clearTimeout(this.timer);
    if (this.stopped) return;
    let interval: number | undefined;
    try {
      const settings = await loadBackupSettings(this.layout);
      interval = settings.interval === null ? undefined : parseInterval(settings.interval);
    } catch (error) {
      if (isBotsyncError(error, 'BACKUP_NOT_CONFIGURED')) interval = undefined;
      else throw error;
    }
    this.interval = interval;
    this.retryDue = false;
    if (interval === undefined) return;
    this.wake(nextBackupAt(interval, await readBackupState(this.layout)) - Date.now());
  }

  private wake(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run();
    }, Math.max(0, Math.min(delayMs, MAX_TIMER_MS)));
    this.timer.unref();
  }

  /** One scheduled run; it never rejects. */
  private async run(): Promise<void> {
    const startedAt = Date.now();
    let stage = 'reading the settings';
    try {
      const settings = await loadBackupSettings(this.layout);
      const interval = settings.interval === null ? undefined : parseInterval(settings.interval);
      this.interval = interval;
      if (interval === undefined) return;
      stage = 'reading the last outcome';
      if (!this.retryDue && nextBackupAt(interval, await readBackupState(this.layout)) > Date.now() + 1000) return await this.plan();
      stage = 'backing up';
      const result = await backupNow(this.layout, settings, this.env, this.version);
      this.announced = undefined;
      this.say(`scheduled backup ${result.name}: ${result.files} entries, ${result.bytes} bytes in ${result.seconds.toFixed(1)} s`);
      // The retention policy is applied after every scheduled backup, as `backup prune` would; an
      // empty policy keeps every snapshot and only clears what interrupted backups left.
      const pruned = await pruneSnapshots(this.layout, settings, this.env, false).catch((error: unknown) => {
        this.say(`pruning after the scheduled backup failed: ${(error as Error).message}`);
        return undefined;
      });
      // Said only when it removed something, not after every run.
      if (pruned !== undefined && pruned.removed.length + pruned.leftovers.length > 0) this.say(`pruned ${pruned.removed.length} snapshots and ${pruned.leftovers.length} leftovers of interrupted backups`);
      stage = 'reading the settings';
      await this.plan();
    } catch (error) {
      await this.failed(stage, error, startedAt);
    }
  }

  /** `since`: when the run began; a failure a backup recorded since then is the one to report. */
  private async failed(stage: string, error: unknown, since = Date.now()): Promise<void> {
    const retryAt = new Date(Date.now() + retryDelay(this.interval));
    if (isBotsyncError(error, 'BACKUP_LOCKED')) {
      // A `backup now` or prune of the user's is running: not a failure, only a turn to wait for.
      this.say(`scheduled backup postponed to ${retryAt.toISOString()}: ${error.message}`);
      this.wake(retryAt.getTime() - Date.now());
      return;
    }
    // A failed backup recorded its own outcome, with the stage it failed in (unless recording failed too).
    const last = stage === 'backing up' ? await readBackupState(this.layout).then((state) => state.lastFailure, () => null) : null;
    const recorded = last !== null && Date.parse(last.at) >= since ? last : null;
    const failure = recorded ?? { at: new Date().toISOString(), stage, message: (error as Error).message };
    if (recorded === null) {
      await recordBackup(this.layout, { lastFailure: failure }).catch((recordError: unknown) =>
        this.say(`cannot record the backup failure for \`backup status\`: ${(recordError as Error).message}`),
      );
    }
    this.say(`scheduled backup failed while ${failure.stage}: ${failure.message}; trying again at ${retryAt.toISOString()}`);
    const key = `${failure.stage}\u0000${failure.message}`;
    if (this.announced !== key) {
      this.announced = key;
      this.announce({ type: 'backup.failed', time: failure.at, stage: failure.stage, message: failure.message, retryAt: retryAt.toISOString() });
    }
    this.retryDue = true;
    this.wake(retryAt.getTime() - Date.now());
  }
}
