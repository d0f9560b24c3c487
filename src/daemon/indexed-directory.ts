import { lstatSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { DbFileVersion } from '../syncthing/rest-types.js';

/**
 * Tells the directories Syncthing made apart from everyone else's. Syncthing makes a received
 * directory with a plain mkdir, no temporary name to tell it by; but it makes it only because the
 * global index holds it. A directory that is in the global index as it is on disk (there, not deleted,
 * with the same permissions: all a scan compares of a directory) gives a scan nothing to find for it,
 * and a scan of a directory walks everything below it, while Syncthing pulls into it. Measured: for
 * 1,000 files received in 100 new directories, the receiving daemon had Syncthing walk the burst's
 * root three times during the pull. What lands inside such a directory is judged file by file, so
 * this holds only where the tree watcher reports what a new directory holds (Linux).
 */
export class IndexedDirectories {
  constructor(
    private readonly client: SyncthingClient,
    private readonly folderId: string,
    private readonly root: string,
  ) {}

  /**
   * The permission bits of the directory at a changed path (folder-relative, '/'-separated);
   * undefined if it is not one, or is gone. `entry`: what the tree watcher found there on this event
   * (null: nothing), so that it is not looked at again.
   */
  modeOf(path: string, entry?: BigIntStats | null): number | undefined {
    if (path === '') return undefined;
    const stats = entry === undefined ? this.lookAt(path) : entry;
    return stats?.isDirectory() === true ? Number(stats.mode & 0o777n) : undefined;
  }

  private lookAt(path: string): BigIntStats | undefined {
    try {
      return lstatSync(join(this.root, ...path.split('/')), { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      // A parent replaced by a file: gone too.
      if (errnoCode(error) === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  /**
   * Whether the global index holds this directory, with these permissions, and this device's own
   * entry does not say otherwise: in a receive-only folder a local deletion never reaches the global
   * index, and the directory put back is a change.
   */
  async holds(path: string, mode: number): Promise<boolean> {
    const entry = await this.client.indexEntry(this.folderId, path);
    // 1.19 answers an entry this device has not got yet with an empty one.
    return entry !== undefined && sameDirectory(entry.global, mode) && (entry.local.name === '' || sameDirectory(entry.local, mode));
  }
}

function sameDirectory(global: DbFileVersion, mode: number): boolean {
  const isDirectory = global.type === 'FILE_INFO_TYPE_DIRECTORY' || global.type === 1;
  return isDirectory && !global.deleted && !global.invalid && (global.noPermissions || Number.parseInt(global.permissions, 8) === mode);
}
