import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeletionWatch, PATHS_SHOWN, type DeletionLookup } from '../../src/notify/deletions.js';
import type { FileReceivedEvent, FilesDeletedEvent } from '../../src/notify/types.js';

const deleted = (path: string, folder = 'shared'): FileReceivedEvent => ({ type: 'file.received', time: new Date().toISOString(), folder, path, action: 'delete', size: null });
const updated = (path: string): FileReceivedEvent => ({ ...deleted(path), action: 'update', size: 3 });

/** A folder of `files` files (before the burst) and who deleted each path: Syncthing's database, as a table. */
function lookup(remaining: number, by: (path: string) => string | null = () => 'BOBBBBB'): DeletionLookup & { calls: number } {
  const table = {
    calls: 0,
    deletedBy: async (_folder: string, path: string) => {
      table.calls += 1;
      return by(path);
    },
    folderFiles: async () => remaining,
    peerName: async (shortId: string) => (shortId === 'BOBBBBB' ? 'bob' : shortId === 'CAROLLL' ? 'carol' : null),
  };
  return table;
}

describe('DeletionWatch', () => {
  let events: { event: FilesDeletedEvent; since: number | null }[];
  let errors: unknown[];
  const watch = (table: DeletionLookup) =>
    new DeletionWatch({ lookup: table, onEvent: (event, since) => void events.push({ event, since }), onError: (error) => void errors.push(error) });

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-12-01T12:00:00.000Z') });
    events = [];
    errors = [];
  });
  afterEach(() => vi.useRealTimers());

  it('reports 50 files deleted by one peer as ONE files.deleted naming it, once the burst is over', async () => {
    const deletions = watch(lookup(0));
    for (let i = 0; i < 50; i++) {
      deletions.add(deleted(`f-${i}.txt`), 100 + i);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(events).toEqual([]);
    expect(deletions.heldSince()).toBe(100);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual({
      since: 100,
      event: { type: 'files.deleted', time: expect.any(String), folder: 'shared', count: 50, from: 'bob', paths: Array.from({ length: PATHS_SHOWN }, (_, i) => `f-${i}.txt`) },
    });
    expect(deletions.heldSince()).toBeNull();
    expect(errors).toEqual([]);
  });

  it('reports 19 deletions only when they are a quarter of the folder', async () => {
    const big = watch(lookup(100));
    for (let i = 0; i < 19; i++) big.add(deleted(`f-${i}`));
    await big.flush();
    expect(events).toEqual([]);
    const small = watch(lookup(50));
    for (let i = 0; i < 19; i++) small.add(deleted(`f-${i}`));
    await small.flush();
    expect(events.map(({ event }) => event.count)).toEqual([19]);
  });

  it('never calls a handful of deletions a mass deletion, whatever the share, and looks nothing up for them', async () => {
    const table = lookup(1);
    const deletions = watch(table);
    for (const path of ['a', 'b', 'c', 'd', 'a']) deletions.add(deleted(path));
    await deletions.flush();
    expect(events).toEqual([]);
    expect(table.calls).toBe(0);
  });

  it('counts per peer, leaves out files that came back and updates, and names an unknown peer by its short id', async () => {
    const by = (path: string) => (path.startsWith('back') ? null : path.startsWith('c-') ? 'CAROLLL' : 'ZZZZZZZ');
    const deletions = watch(lookup(1_000, by));
    for (let i = 0; i < 20; i++) deletions.add(deleted(`c-${i}`));
    for (let i = 0; i < 19; i++) deletions.add(deleted(`z-${i}`));
    for (let i = 0; i < 5; i++) deletions.add(deleted(`back-${i}`));
    for (let i = 0; i < 30; i++) deletions.add(updated(`u-${i}`));
    await deletions.flush();
    expect(events.map(({ event }) => [event.from, event.count])).toEqual([['carol', 20]]);
    const other = watch(lookup(0, () => 'ZZZZZZZ'));
    for (let i = 0; i < 20; i++) other.add(deleted(`z-${i}`));
    await other.flush();
    expect(events.at(-1)!.event.from).toBe('ZZZZZZZ');
  });

  it('judges each folder on its own', async () => {
    const deletions = watch(lookup(0));
    for (let i = 0; i < 12; i++) deletions.add(deleted(`s-${i}`, 'shared'));
    for (let i = 0; i < 12; i++) deletions.add(deleted(`d-${i}`, 'deliverables'));
    await deletions.flush();
    expect(events.map(({ event }) => [event.folder, event.count])).toEqual([
      ['shared', 12],
      ['deliverables', 12],
    ]);
  });

  it('still reports a burst when Syncthing cannot say who deleted the files, and says why', async () => {
    const table = lookup(0);
    let asked = 0;
    table.deletedBy = async () => {
      asked += 1;
      throw new Error('Syncthing is restarting');
    };
    const deletions = watch(table);
    for (let i = 0; i < 25; i++) deletions.add(deleted(`f-${i}`));
    await deletions.flush();
    expect(events.map(({ event }) => [event.from, event.count])).toEqual([[null, 25]]);
    expect(errors).toHaveLength(1);
    // One failed lookup is enough to know Syncthing cannot say: no timeout per file.
    expect(asked).toBe(1);
  });

  it('holds the event cursor while a closed burst is still being looked up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const table = lookup(0);
    table.folderFiles = async () => {
      await gate;
      return 0;
    };
    const deletions = watch(table);
    for (let i = 0; i < 20; i++) deletions.add(deleted(`f-${i}`), 7 + i);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(deletions.heldSince()).toBe(7);
    release();
    await deletions.flush();
    expect(events).toHaveLength(1);
    expect(deletions.heldSince()).toBeNull();
  });
});
