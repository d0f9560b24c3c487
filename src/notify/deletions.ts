/**
 * Watches for a peer deleting many files at once (`rm -rf` on the wrong machine): the batch message
 * "53 files arrived (53 deleted)" reads like routine, so a burst of deletions by one peer of at
 * least MASS_DELETE_FILES files, or of MASS_DELETE_SHARE of a folder, is a `files.deleted` event of
 * its own, journaled and notified at once whether or not a webhook is set.
 *
 * A burst is what the notification batcher calls one batch (the same BatchWindow). Syncthing's
 * ItemFinished does not say who deleted an item; its database does (`modifiedBy` of the global
 * record), so only a burst large enough to matter is looked up there, item by item. An item that is
 * back by then (recreated) is no deletion any more and is not counted.
 */
import type { BotsyncEvent, FilesDeletedEvent } from './types.js';
import { BatchWindow, realClock, type BatcherClock } from './window.js';

export const MASS_DELETE_FILES = 20;
export const MASS_DELETE_SHARE = 0.25;
/**
 * The share rule alone never fires below this many files: deleting 1 of a folder's 3 files is a
 * third of it, and no accident worth a separate alarm.
 */
export const MASS_DELETE_SHARE_FLOOR = 5;
/** How many of the deleted paths the event names. */
export const PATHS_SHOWN = 10;

export interface DeletionLookup {
  /**
   * Who deleted an item: the short device id (7 characters) Syncthing's global record names, or null
   * when the item is no longer deleted (or is a directory, which is no file of its own).
   */
  deletedBy(folder: string, path: string): Promise<string | null>;
  /** The files the folder holds now, by Syncthing's global count. */
  folderFiles(folder: string): Promise<number>;
  /** The name botsync knows a peer by, from its short id; null when it knows none. */
  peerName(shortId: string): Promise<string | null>;
}

export interface DeletionWatchOptions {
  lookup: DeletionLookup;
  /** A mass deletion, with the source id of the oldest event it came from. */
  onEvent: (event: FilesDeletedEvent, sourceSince: number | null) => void;
  /** A lookup or onEvent failed: the burst is reported with what is known, or logged. */
  onError: (error: unknown) => void;
  quietMs?: number;
  maxMs?: number;
  clock?: BatcherClock;
}

interface Burst {
  /** folder -> deleted paths, in order of arrival. */
  paths: Map<string, string[]>;
  oldestSourceId: number | null;
}

export class DeletionWatch {
  private readonly window: BatchWindow;
  private readonly clock: BatcherClock;
  private burst: Burst = emptyBurst();
  /** Closed bursts still being looked up: what the event cursor must stay behind. */
  private readonly closing = new Map<Promise<void>, number | null>();

  constructor(private readonly options: DeletionWatchOptions) {
    this.clock = options.clock ?? realClock;
    this.window = new BatchWindow(() => void this.close(), options.quietMs, options.maxMs, this.clock);
  }

  add(event: BotsyncEvent, sourceId?: number): void {
    if (event.type !== 'file.received' || event.action !== 'delete') return;
    const paths = this.burst.paths.get(event.folder) ?? [];
    paths.push(event.path);
    this.burst.paths.set(event.folder, paths);
    if (sourceId !== undefined) this.burst.oldestSourceId = Math.min(this.burst.oldestSourceId ?? sourceId, sourceId);
    this.window.extend();
  }

  /** The source id of the oldest deletion not yet judged, or null. */
  heldSince(): number | null {
    const held = [this.burst.oldestSourceId, ...this.closing.values()].filter((id): id is number => id !== null);
    return held.length === 0 ? null : Math.min(...held);
  }

  /** Judges the open burst now and waits for every burst being judged (at shutdown). */
  async flush(): Promise<void> {
    await this.close();
    await Promise.all(this.closing.keys());
  }

  private close(): Promise<void> {
    this.window.clear();
    const burst = this.burst;
    this.burst = emptyBurst();
    if (burst.paths.size === 0) return Promise.resolve();
    const judged = this.judge(burst).catch((error: unknown) => this.options.onError(error));
    const done = judged.finally(() => this.closing.delete(done));
    this.closing.set(done, burst.oldestSourceId);
    return done;
  }

  private async judge(burst: Burst): Promise<void> {
    for (const [folder, paths] of burst.paths) {
      const unique = [...new Set(paths)];
      if (unique.length < Math.min(MASS_DELETE_FILES, MASS_DELETE_SHARE_FLOOR)) continue;
      // The folder before the burst: what is left plus what went. Unknown, only the count rule applies.
      const before = await this.options.lookup.folderFiles(folder).then(
        (left) => left + unique.length,
        (error: unknown) => {
          this.options.onError(error);
          return Number.POSITIVE_INFINITY;
        },
      );
      if (!isMass(unique.length, before)) continue;
      for (const [shortId, deleted] of await this.byPeer(folder, unique)) {
        if (!isMass(deleted.length, before)) continue;
        const from = shortId === null ? null : ((await this.options.lookup.peerName(shortId)) ?? shortId);
        const time = new Date(this.clock.now()).toISOString();
        this.options.onEvent({ type: 'files.deleted', time, folder, count: deleted.length, from, paths: deleted.slice(0, PATHS_SHOWN) }, burst.oldestSourceId);
      }
    }
  }

  /** The deleted files by who deleted them (null: Syncthing could not say); items back again are left out. */
  private async byPeer(folder: string, paths: string[]): Promise<Map<string | null, string[]>> {
    const groups = new Map<string | null, string[]>();
    let failure: unknown;
    for (const path of paths) {
      let by: string | null = null;
      // After one failure the rest count from a peer not known: a Syncthing that does not answer would
      // otherwise hold the judgement (and a daemon's stop) for a timeout per file.
      if (failure === undefined) {
        try {
          by = await this.options.lookup.deletedBy(folder, path);
          if (by === null) continue;
        } catch (error) {
          failure = error;
        }
      }
      const group = groups.get(by);
      if (group === undefined) groups.set(by, [path]);
      else group.push(path);
    }
    if (failure !== undefined) this.options.onError(failure);
    return groups;
  }
}

function isMass(count: number, before: number): boolean {
  return count >= MASS_DELETE_FILES || (count >= MASS_DELETE_SHARE_FLOOR && count >= MASS_DELETE_SHARE * before);
}

function emptyBurst(): Burst {
  return { paths: new Map(), oldestSourceId: null };
}
