import { statfs } from 'node:fs/promises';
import { errnoCode } from '../errors.js';
import type { Size } from './rest-types.js';

/** A size as Syncthing's config writes it, in decimal megabytes. */
export type DiskSize = Size & { unit: 'MB' };

const FLOOR_BYTES = 32 * 1024 * 1024;

/**
 * How much free space Syncthing keeps on a folder's disk: past it, it stops pulling and reports the
 * items as "insufficient space" (minDiskFree), checked per file against its size. Syncthing's default,
 * 1% of the disk, is 200 KB of a 20 MB one: a peer's files fill it to the last block, and then
 * Syncthing's database and config and botsync's state and logs cannot be written (Syncthing 1.19
 * panics when its database cannot). So 1%, but at least 32 MiB, and at most a quarter of a disk too
 * small for that, leaving room for what the machine writes while a peer tries to fill it.
 */
export function folderReserve(totalBytes: number): DiskSize {
  return megabytes(Math.max(totalBytes / 100, Math.min(FLOOR_BYTES, totalBytes / 4)));
}

/**
 * What Syncthing keeps free on its database's disk (minHomeDiskFree); below it, every folder stops,
 * deletions included. Half the folders' reserve: botsync's own writes may use the other half before
 * that happens, and a peer's deletions can still free space.
 */
export function homeReserve(totalBytes: number): DiskSize {
  return megabytes(folderReserve(totalBytes).value * 1e6 / 2);
}

/** The reserve for the disk holding `path`; undefined (Syncthing's default stays) while the path does not exist. */
export async function reserveOn(path: string, reserve: (totalBytes: number) => DiskSize): Promise<DiskSize | undefined> {
  return (await roomOn(path, reserve))?.reserve;
}

export interface DiskRoom {
  /** Bytes free for an unprivileged writer, as Syncthing counts them (statfs's bavail). */
  freeBytes: number;
  reserve: DiskSize;
}

/** The free space and the reserve of the disk holding `path`; undefined while the path does not exist. */
export async function roomOn(path: string, reserve: (totalBytes: number) => DiskSize): Promise<DiskRoom | undefined> {
  try {
    const disk = await statfs(path);
    return { freeBytes: disk.bavail * disk.bsize, reserve: reserve(disk.blocks * disk.bsize) };
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether the disk has what Syncthing keeps free on it. */
export function hasReserve(room: DiskRoom): boolean {
  return room.freeBytes >= room.reserve.value * 1e6;
}

/** `bytes` in decimal megabytes, rounded down to a tenth, as a reserve is written and a message shows it. */
export function megabytes(bytes: number): DiskSize {
  return { value: Math.floor(bytes / 1e5) / 10, unit: 'MB' };
}

/** A size for a message: "2.6 MB", "0.0 MB". */
export function showSize(size: DiskSize): string {
  return `${size.value.toFixed(1)} ${size.unit}`;
}
