import { describe, expect, it } from 'vitest';
import { DatabaseRoom } from '../../src/daemon/database-room.js';
import type { DiskRoom } from '../../src/syncthing/disk-reserve.js';
import { formatEvent } from '../../src/notify/format.js';
import type { BotsyncEvent, FolderErrorEvent } from '../../src/notify/types.js';

const RESERVE = { value: 2.6, unit: 'MB' } as const;

/** A disk whose free space a test sets; every look at it is counted. */
class FakeDisk {
  looks = 0;
  constructor(public freeBytes: number | Error) {}
  room = async (): Promise<DiskRoom> => {
    this.looks += 1;
    if (this.freeBytes instanceof Error) throw this.freeBytes;
    return { freeBytes: this.freeBytes, reserve: RESERVE };
  };
}

function setup(disk: FakeDisk) {
  const said: string[] = [];
  const events: BotsyncEvent[] = [];
  const held: (string | undefined)[] = [];
  const room = new DatabaseRoom({
    syncthingHome: '/home/a/.botsync/syncthing',
    folders: async () => ['shared', 'deliverables', 'inbox'],
    emit: (event) => events.push(event),
    onHeld: (reason) => held.push(reason),
    say: (message) => said.push(message),
    room: disk.room,
    everyMs: 5,
  });
  return { room, said, events, held };
}

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
};

describe("holding Syncthing's restart while its database's disk is full", () => {
  it('lets a restart go at once when the disk has the reserve, and says nothing', async () => {
    const disk = new FakeDisk(2.6e6);
    const { room, said, events, held } = setup(disk);
    await room.untilRoom(new AbortController().signal);
    expect(disk.looks).toBe(1);
    expect([said, events, held]).toEqual([[], [], []]);
  });

  it('reports a stop of every folder once, in words that tell a full disk, and starts Syncthing once the reserve is free', async () => {
    const disk = new FakeDisk(0);
    const { room, said, events, held } = setup(disk);
    let released = false;
    const waiting = room.untilRoom(new AbortController().signal).then(() => (released = true));
    await until(() => disk.looks >= 3);
    expect(released).toBe(false);
    const reason = 'Syncthing exited: insufficient space on disk for database (/home/a/.botsync/syncthing): current 0.0 MB < required 2.6 MB';
    expect(held).toEqual([reason]);
    expect(events.map((event) => [event.type, (event as FolderErrorEvent).folder, (event as FolderErrorEvent).reason])).toEqual([
      ['folder.error', 'shared', reason],
      ['folder.error', 'deliverables', reason],
      ['folder.error', 'inbox', reason],
    ]);
    // The webhook's message says the folder stopped and that freeing space is the fix.
    expect(formatEvent(events[0] as FolderErrorEvent)).toMatch(/stopped syncing\.\nThis machine's disk is \(nearly\) full: free some space/);

    disk.freeBytes = 2.5e6;
    const looked = disk.looks;
    await until(() => disk.looks >= looked + 2);
    expect(released).toBe(false);
    disk.freeBytes = 4e6;
    await waiting;
    expect(held).toEqual([reason, undefined]);
    expect(events).toHaveLength(3);
    expect(said).toEqual([`${reason}; it starts again once there is room (checked every 0.005 s)`, "Syncthing's database has room again: starting Syncthing"]);
  });

  it('ends the wait when the daemon stops', async () => {
    const disk = new FakeDisk(0);
    const { room, held } = setup(disk);
    const stop = new AbortController();
    const waiting = room.untilRoom(stop.signal);
    await until(() => disk.looks >= 2);
    stop.abort();
    await waiting;
    expect(held).toHaveLength(2);
    expect(held[1]).toBeUndefined();
  });

  it('starts Syncthing when the room cannot be read, and says why', async () => {
    const disk = new FakeDisk(new Error('EIO: i/o error, statfs'));
    const { room, said, events, held } = setup(disk);
    await room.untilRoom(new AbortController().signal);
    expect(said).toEqual(["checking the room for Syncthing's database failed (EIO: i/o error, statfs); starting Syncthing"]);
    expect([events, held]).toEqual([[], []]);
  });
});
