import { describe, expect, it } from 'vitest';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderReserve, hasReserve, homeReserve, megabytes, roomOn, showSize } from '../../src/syncthing/disk-reserve.js';

const MiB = 1024 * 1024;

describe('the free space Syncthing keeps', () => {
  it("is Syncthing's 1% on a large disk, at least 32 MiB, and a quarter of a disk too small for that", () => {
    expect(folderReserve(500e9)).toEqual({ value: 5000, unit: 'MB' });
    expect(folderReserve(1e9)).toEqual({ value: 33.5, unit: 'MB' });
    // The 20 MB tmpfs a peer fills in the disk-full test: 5.2 MB stay free, an 8 MiB file still fits once.
    expect(folderReserve(20 * MiB)).toEqual({ value: 5.2, unit: 'MB' });
  });

  it('keeps half of that for the database, so the folders stop pulling before it runs short', () => {
    expect(homeReserve(20 * MiB)).toEqual({ value: 2.6, unit: 'MB' });
    expect(homeReserve(500e9)).toEqual({ value: 2500, unit: 'MB' });
  });

  it("reads a disk's free space as Syncthing does (what an unprivileged writer may use), beside its reserve", async () => {
    const disk = await statfs(tmpdir());
    const room = (await roomOn(tmpdir(), homeReserve))!;
    expect(room.reserve).toEqual(homeReserve(disk.blocks * disk.bsize));
    expect(room.freeBytes % disk.bsize).toBe(0);
    expect(room.freeBytes).toBeLessThanOrEqual(disk.bfree * disk.bsize);
    expect(await roomOn(join(tmpdir(), 'no-such-dir-dk'), homeReserve)).toBeUndefined();
    expect(hasReserve({ freeBytes: 2.6e6, reserve: { value: 2.6, unit: 'MB' } })).toBe(true);
    expect(hasReserve({ freeBytes: 2.6e6 - 1, reserve: { value: 2.6, unit: 'MB' } })).toBe(false);
  });

  it('is shown in decimal megabytes to a tenth, rounded down: a disk short of its reserve never reads as holding it', () => {
    expect(megabytes(2_599_999)).toEqual({ value: 2.5, unit: 'MB' });
    expect(showSize(megabytes(2_599_999))).toBe('2.5 MB');
    expect(showSize(megabytes(0))).toBe('0.0 MB');
    expect(showSize(homeReserve(20 * MiB))).toBe('2.6 MB');
  });
});
