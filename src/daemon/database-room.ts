import { hasReserve, homeReserve, megabytes, roomOn, showSize, type DiskRoom } from '../syncthing/disk-reserve.js';
import { pollUntil } from '../lib/time/poll.js';
import type { BotsyncEvent } from '../notify/types.js';

const CHECK_EVERY_MS = 1_000;

export interface DatabaseRoomOptions {
  /** Syncthing's home, which holds its database. */
  syncthingHome: string;
  /** The ids of the folders Syncthing syncs for this home: each is told it stopped. */
  folders: () => Promise<string[]>;
  emit: (event: BotsyncEvent) => void;
  /** Why Syncthing is down and its restart held (for status), then undefined once it may start again. */
  onHeld: (reason: string | undefined) => void;
  say: (message: string) => void;
  /** The disk's room; statfs unless a test says otherwise. */
  room?: (path: string) => Promise<DiskRoom | undefined>;
  everyMs?: number;
}

/**
 * Holds Syncthing's restarts while the disk of its database is full. Syncthing 1.19 panics (exit 2)
 * when a write to its database meets ENOSPC, which an index a peer sends onto a full disk makes,
 * and cannot open the database again until there is room ("Error opening database: ... no space
 * left on device"): restarts before then only fail, each one counted, with a backoff growing
 * towards 30 s that then delays the resume once space is freed. So after an exit on a disk below
 * Syncthing's reserve (minHomeDiskFree: its folders stop below it anyway) the daemon reports a stop of
 * every folder once, since Syncthing, being down, cannot, and starts Syncthing as soon as the reserve
 * is free again.
 */
export class DatabaseRoom {
  constructor(private readonly options: DatabaseRoomOptions) {}

  /** Resolves once Syncthing may start again: at once unless its database's disk is below the reserve, or on abort. */
  async untilRoom(signal: AbortSignal): Promise<void> {
    const { syncthingHome, say } = this.options;
    const room = this.options.room ?? ((path: string) => roomOn(path, homeReserve));
    let held = false;
    try {
      const now = await room(syncthingHome);
      if (now === undefined || hasReserve(now)) return;
      const reason = `Syncthing exited: insufficient space on disk for database (${syncthingHome}): current ${showSize(megabytes(now.freeBytes))} < required ${showSize(now.reserve)}`;
      const everyMs = this.options.everyMs ?? CHECK_EVERY_MS;
      say(`${reason}; it starts again once there is room (checked every ${everyMs / 1000} s)`);
      held = true;
      this.options.onHeld(reason);
      const time = new Date().toISOString();
      for (const folder of await this.options.folders()) this.options.emit({ type: 'folder.error', time, folder, reason, errors: [] });
      const freed = await pollUntil(
        async () => {
          const later = await room(syncthingHome);
          return later === undefined || hasReserve(later) ? true : undefined;
        },
        { everyMs, timeoutMs: Number.POSITIVE_INFINITY, signal },
      );
      if (freed) say("Syncthing's database has room again: starting Syncthing");
    } catch (error) {
      // Not knowing the room is no reason to keep Syncthing down: the restart goes ahead.
      say(`checking the room for Syncthing's database failed (${(error as Error).message}); starting Syncthing`);
    } finally {
      if (held) this.options.onHeld(undefined);
    }
  }
}
