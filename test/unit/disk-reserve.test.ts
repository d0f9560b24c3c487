import { describe, expect, it } from 'vitest';
import { folderReserve, homeReserve } from '../../src/syncthing/disk-reserve.js';

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
});
