import type { BigIntStats, Dirent } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { isConflictCopy } from './conflict-name.js';

/**
 * Finding the conflict copies in a folder's tree. A walker remembers each directory it read, and reads
 * it again only when its ctime or inode changed: adding, removing or renaming an entry changes the
 * directory's ctime, and nothing sets a ctime back (utimes, as Syncthing uses on directories, moves it
 * on too). So the daemon, which answers `status` from one walker, pays a stat per directory instead of
 * reading every directory again.
 */

/** The conflict copies under a folder's root, '/'-separated relative paths. */
export type CopyWalk = (root: string) => Promise<string[]>;

/** Syncthing's own directories at a folder's top: never walked. */
const SYNCTHING_DIRS: ReadonlySet<string> = new Set(['.stversions', '.stfolder']);

/**
 * How long after its last change a directory's listing is kept. A change in the same tick of the
 * file system's clock as the one read before leaves the ctime as it was (coarse kernel clocks; 1 to
 * 2 s on FAT, HFS+ and ext3): a directory changed this recently is read again next time.
 */
const SETTLED_NS = 2_000_000_000n;

interface Listing {
  ino: bigint;
  ctimeNs: bigint;
  /** Unchanged for long enough to be kept (SETTLED_NS). */
  settled: boolean;
  copies: string[];
  dirs: string[];
}

export class CopyWalker {
  /** Per root, the listings of the directories the last walk of it went through. */
  private readonly known = new Map<string, Map<string, Listing>>();

  constructor(private readonly nowNs: () => bigint = () => BigInt(Date.now()) * 1_000_000n) {}

  readonly walk: CopyWalk = async (root) => {
    const before = this.known.get(root) ?? new Map<string, Listing>();
    const seen = new Map<string, Listing>();
    const copies = await this.walkDir(root, '', before, seen);
    // Only what this walk went through: directories removed since are forgotten.
    this.known.set(root, seen);
    return copies;
  };

  private async walkDir(root: string, dir: string, before: Map<string, Listing>, seen: Map<string, Listing>): Promise<string[]> {
    const listing = await this.listingOf(join(root, dir), dir === '', before.get(dir));
    if (listing === undefined) return [];
    if (listing.settled) seen.set(dir, listing);
    const copies = listing.copies.map((name) => (dir === '' ? name : `${dir}/${name}`));
    for (const name of listing.dirs) copies.push(...(await this.walkDir(root, dir === '' ? name : `${dir}/${name}`, before, seen)));
    return copies;
  }

  /** Undefined for a directory that is not there (any more). */
  private async listingOf(path: string, top: boolean, known: Listing | undefined): Promise<Listing | undefined> {
    const lookedAt = this.nowNs();
    // The root may be a link to the folder's directory; below it, links are not followed.
    const stats = await statsOf(path, top);
    if (stats === undefined || !stats.isDirectory()) return undefined;
    if (known !== undefined && known.ino === stats.ino && known.ctimeNs === stats.ctimeNs) return known;
    const copies: string[] = [];
    const dirs: string[] = [];
    for (const entry of await readDirOrEmpty(path)) {
      if (entry.isDirectory()) {
        if (!(top && SYNCTHING_DIRS.has(entry.name))) dirs.push(entry.name);
      } else if (entry.isFile() && isConflictCopy(entry.name)) {
        copies.push(entry.name);
      }
    }
    // Read after the stat: a change in between shows as a new ctime next time, and is read then.
    return { ino: stats.ino, ctimeNs: stats.ctimeNs, settled: lookedAt - stats.ctimeNs > SETTLED_NS, copies, dirs };
  }
}

/** Every directory read on every walk: for one-off listings (the CLI without a daemon, `conflicts`). */
export const walkCopies: CopyWalk = (root) => new CopyWalker().walk(root);

/** A missing directory (a folder not created yet, one removed meanwhile) holds no conflicts. */
export async function readDirOrEmpty(path: string): Promise<Dirent[]> {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

async function statsOf(path: string, follow: boolean): Promise<BigIntStats | undefined> {
  try {
    return await (follow ? stat : lstat)(path, { bigint: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}
