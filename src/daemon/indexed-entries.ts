import { lstatSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { isDirectoryType, isFileType } from '../syncthing/item-type.js';
import type { DbFileVersion } from '../syncthing/rest-types.js';

/**
 * Tells the directories Syncthing made apart from everyone else's, and the files it put in them before
 * they were watched. Syncthing makes a received directory with a plain mkdir, no temporary name to
 * tell it by; but it makes it only because the global index holds it. A directory that is in the global index as it is on disk (there, not deleted,
 * with the same permissions: all a scan compares of a directory) gives a scan nothing to find for it,
 * and a scan of a directory walks everything below it, while Syncthing pulls into it. Measured: for
 * 1,000 files received in 100 new directories, the receiving daemon had Syncthing walk the burst's
 * root three times during the pull. What lands inside such a directory is judged file by file, so
 * this holds only where the tree watcher reports what a new directory holds (Linux).
 */
export class IndexedEntries {
  constructor(
    private readonly client: SyncthingClient,
    private readonly folderId: string,
    private readonly root: string,
  ) {}

  /** What is at a changed path (folder-relative, '/'-separated): `entry` if the tree watcher looked (null: nothing), undefined if gone. */
  look(path: string, entry?: BigIntStats | null): BigIntStats | undefined {
    if (path === '') return undefined;
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
   * Whether the global index holds what is at the path as it is on disk, and this device's own entry
   * does not say otherwise (in a receive-only folder a local deletion never reaches the global index,
   * and what is put back is a change). A directory: there, not deleted, the same permissions (all a
   * scan compares of one). A file: the same size, mtime to the nanosecond and permissions (what a scan
   * compares), asked only of one found by the walk of a new directory: renamed into place by Syncthing
   * before the directory was watched (a daemon behind a burst), its temporary file never seen.
   */
  async holds(path: string, stats: BigIntStats): Promise<boolean> {
    const entry = await this.client.indexEntry(this.folderId, path);
    if (entry === undefined) return false;
    const same = stats.isDirectory() ? sameDirectory : sameFile;
    // 1.19 answers an entry this device has not got yet with an empty one.
    return same(entry.global, stats) && (entry.local.name === '' || same(entry.local, stats));
  }
}

function sameFile(indexed: DbFileVersion, stats: BigIntStats): boolean {
  return (
    isFileType(indexed.type) &&
    stats.isFile() &&
    !indexed.deleted &&
    !indexed.invalid &&
    BigInt(indexed.size) === stats.size &&
    timeNs(indexed.modified) === stats.mtimeNs &&
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
