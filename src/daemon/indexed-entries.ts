import { lstatSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { isDirectoryType, isFileType } from '../syncthing/item-type.js';
import type { DbFileVersion } from '../syncthing/rest-types.js';

/**
 * Tells the directories Syncthing made apart from everyone else's, the files it put in them before
 * they were watched, and files it wrote moments ago in ways IncomingWrites does not know. Syncthing
 * makes a received directory with a plain mkdir, no temporary name to tell it by; but it makes it only
 * because the global index holds it. An entry that is in the global index as it is on disk gives a
 * scan nothing to find for it, and a scan of a directory walks everything below it, while Syncthing
 * pulls into it. Measured: for 1,000 files received in 100 new directories, the receiving daemon had
 * Syncthing walk the burst's root three times during the pull. What lands inside such a directory is
 * judged file by file, so this holds only where the tree watcher reports what a new directory holds
 * (Linux).
 */
export class IndexedEntries {
  constructor(
    private readonly client: SyncthingClient,
    private readonly folderId: string,
    private readonly root: string,
  ) {}

  /** What is at a changed path (folder-relative, '/'-separated): `entry` if the tree watcher looked (null: nothing), undefined if gone. */
  look(path: string, entry?: BigIntStats | null): BigIntStats | undefined {
    if (entry !== undefined) return entry ?? undefined;
    try {
      return lstatSync(join(this.root, ...path.split('/')), { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      // A parent replaced by a file: gone too.
      if (errnoCode(error) === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  /**
   * How the index holds what is at the path (`stats`; undefined: nothing). 'indexed': as it is on
   * disk, so that a scan has nothing to find. Something there: this device's own entry is the same
   * (for a directory: there, not deleted, the same permissions, all a scan compares of one; for a
   * file: the same size, mtime to the nanosecond and permissions, what a scan compares), or the global
   * one is and this device's is none yet or a live one Syncthing is replacing (in a receive-only
   * folder a local deletion or change never reaches the global index: what is put back, or changed
   * back, is a change). Nothing there: the global entry is a deletion, which Syncthing applies.
   * 'arriving' (`arriving` given, a file found by the walk of a new
   * directory, this device not holding it yet): as it is on disk but for its mtime, which 1.19 sets
   * after the rename. Undefined: a scan has something to find.
   */
  async holds(path: string, stats: BigIntStats | undefined, arriving: boolean, signal?: AbortSignal): Promise<Held | undefined> {
    const entry = await this.client.indexEntry(this.folderId, path, signal);
    // Nothing there and nothing indexed may be a file created and gone before this device's scan of it
    // reached the index (1.19 writes what it scanned in batches): a scan.
    if (entry === undefined) return undefined;
    // 1.19 answers an entry this device has not got yet with an empty one.
    const localEmpty = entry.local.name === '';
    // Syncthing writes what the global index holds; an older version of its own is what it replaces.
    const localLive = localEmpty || (!entry.local.deleted && !entry.local.invalid);
    // Nothing there: only a deletion Syncthing applies is surely nothing to find; this device's own
    // entry may not hold yet what was written and scanned moments ago.
    if (stats === undefined) return entry.global.deleted ? 'indexed' : undefined;
    const same = stats.isDirectory() ? sameDirectory : sameFile;
    // What a scan compares against: this device's own entry; or what Syncthing writes: the global one.
    if (!localEmpty && same(entry.local, stats)) return 'indexed';
    if (same(entry.global, stats)) return localLive ? 'indexed' : undefined;
    return arriving && localEmpty && sameFile(entry.global, stats, false) ? 'arriving' : undefined;
  }
}

/** How the index holds a path: as it is on disk, or so but for the mtime Syncthing sets after its rename. */
type Held = 'indexed' | 'arriving';

function sameFile(indexed: DbFileVersion, stats: BigIntStats, mtime = true): boolean {
  return (
    isFileType(indexed.type) &&
    stats.isFile() &&
    !indexed.deleted &&
    !indexed.invalid &&
    BigInt(indexed.size) === stats.size &&
    (!mtime || timeNs(indexed.modified) === stats.mtimeNs) &&
    samePermissions(indexed, stats)
  );
}

/** RFC 3339 with up to nanoseconds, in any zone, as nanoseconds since the epoch; undefined if it is not that. */
export function timeNs(text: string): bigint | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (match === null) return undefined;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

function samePermissions(indexed: DbFileVersion, stats: BigIntStats): boolean {
  return indexed.noPermissions || Number.parseInt(indexed.permissions, 8) === Number(stats.mode & 0o777n);
}

function sameDirectory(indexed: DbFileVersion, stats: BigIntStats): boolean {
  return isDirectoryType(indexed.type) && stats.isDirectory() && !indexed.deleted && !indexed.invalid && samePermissions(indexed, stats);
}
