import { readBackupState } from '../backup/backup-state.js';
import { loadBackupSettings } from '../backup/settings.js';
import { parseInterval } from '../lib/time/duration.js';
import { backupNow, pruneSnapshots } from '../backup/snapshot.js';
import { isBotsyncError } from '../errors.js';
import type { Layout } from '../workspace/layout.js';

/**
 * Scheduled backups: the next one is due an interval after the last success (or, after a failure,
 * after a shorter retry delay), so a daemon restart neither skips nor repeats one. The outcome is what
 * `backup now` records, so `backup status` and `status` show it whoever made the backup. Each
 * successful run is followed by a prune with the configured retention policy.
 */
export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly layout: Layout,
    private readonly env: NodeJS.ProcessEnv,
    private readonly version: string,
    private readonly say: (message: string) => void,
  ) {}

  /** (Re)reads the settings and plans the next run; call after `backup config`. */
  async reload(): Promise<void> {
    clearTimeout(this.timer);
    if (this.stopped) return;
    let settings;
    try {
      settings = await loadBackupSettings(this.layout);
    } catch (error) {
      if (isBotsyncError(error, 'BACKUP_NOT_CONFIGURED')) return;
      throw error;
    }
    const interval = settings.interval === null ? undefined : parseInterval(settings.interval);
    if (interval === undefined) return;
    const state = await readBackupState(this.layout);
    const lastOk = state.lastSuccess === null ? 0 : Date.parse(state.lastSuccess.at);
    const lastFail = state.lastFailure === null ? 0 : Date.parse(state.lastFailure.at);
    // After a failure, try again sooner than a whole interval, but not in a tight loop.
    const due = lastFail > lastOk ? Math.max(lastFail + Math.min(interval, 15 * 60_000), Date.now()) : lastOk + interval;
    const delay = Math.max(0, due - Date.now());
    // Timers cannot wait longer than ~24.8 days; a longer interval is re-planned on waking.
    this.timer = setTimeout(() => void this.run(), Math.min(delay, 2 ** 31 - 1));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async run(): Promise<void> {
    const settings = await loadBackupSettings(this.layout);
    const state = await readBackupState(this.layout);
    const interval = settings.interval === null ? undefined : parseInterval(settings.interval);
    if (interval !== undefined && state.lastSuccess !== null && Date.now() < Date.parse(state.lastSuccess.at) + interval - 1000) return this.reload();
    this.running = backupNow(this.layout, settings, this.env, this.version)
      .then(async (result) => {
        this.say(`scheduled backup ${result.name}: ${result.files} entries, ${result.bytes} bytes in ${result.seconds.toFixed(1)} s`);
        // The retention policy is applied after every scheduled backup, as `backup prune` would; an
        // empty policy keeps every snapshot and only clears what interrupted backups left.
        await pruneSnapshots(this.layout, settings, this.env, false).then(
          (pruned) => {
            // Said only when it removed something, not after every run.
            if (pruned.removed.length + pruned.leftovers.length > 0) this.say(`pruned ${pruned.removed.length} snapshots and ${pruned.leftovers.length} leftovers of interrupted backups`);
          },
          (error: unknown) => this.say(`pruning after the scheduled backup failed: ${(error as Error).message}`),
        );
      }, (error: unknown) => this.say(`scheduled backup failed: ${(error as Error).message}`));
    await this.running;
    await this.reload();
  }
}
