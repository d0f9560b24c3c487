import { describe, expect, it } from 'vitest';
import { capped, DEFAULT_SYNC_TIMEOUT_MS, listPages, parseSyncTimeout, pendingDelivery, type PeerProgress } from '../../src/folders/delivery.js';

const progress = (name: string, connected: boolean, folders: [string, number | null, number, number][]): PeerProgress => ({
  deviceId: `ID-${name}`,
  name,
  connected,
  folders: folders.map(([folder, completion, items, bytes]) => ({ folder, completion, items, bytes })),
});

describe('what sync --wait still waits for', () => {
  const laptop = (connected: boolean, items: number) => progress('laptop', connected, [['shared', 100, 0, 0], ['deliverables', items === 0 ? 100 : 40, items, items * 10]]);
  const phone = progress('phone', false, [['deliverables', 0, 3, 30]]);

  it('waits for the connected peers only, and for every peer with --all', () => {
    const pending = pendingDelivery([laptop(true, 1), phone], false, new Set());
    expect(pending.peers).toEqual(['laptop']);
    expect(pending.missing).toEqual([{ peer: 'laptop', folder: 'deliverables', items: 1, bytes: 10 }]);
    expect(pendingDelivery([laptop(true, 0), phone], false, new Set()).missing).toEqual([]);
    expect(pendingDelivery([laptop(true, 0), phone], true, new Set()).missing).toEqual([{ peer: 'phone', folder: 'deliverables', items: 3, bytes: 30 }]);
  });

  it('keeps waiting for a peer that disconnects during the wait', () => {
    const first = pendingDelivery([laptop(true, 2), progress('phone', true, [['deliverables', 100, 0, 0]])], false, new Set());
    const later = pendingDelivery([laptop(false, 1), progress('phone', true, [['deliverables', 100, 0, 0]])], false, first.seen);
    expect(later.peers).toEqual(['laptop', 'phone']);
    expect(later.missing).toEqual([{ peer: 'laptop', folder: 'deliverables', items: 1, bytes: 10 }]);
  });

  it('waits for every peer while none is connected: an unreachable human has not got the deliverable', () => {
    const pending = pendingDelivery([laptop(false, 1), phone], false, new Set());
    expect(pending.peers).toEqual(['laptop', 'phone']);
    expect(pending.missing.map((missing) => missing.peer)).toEqual(['laptop', 'phone']);
    // ...and one that has everything already is done, connected or not.
    expect(pendingDelivery([laptop(false, 0)], false, new Set()).missing).toEqual([]);
  });

  it('counts a file whose bytes have all arrived but which is not in place yet, and leaves folders paused here out', () => {
    expect(pendingDelivery([progress('laptop', true, [['deliverables', 100, 1, 0]])], false, new Set()).missing).toEqual([{ peer: 'laptop', folder: 'deliverables', items: 1, bytes: 0 }]);
    expect(pendingDelivery([progress('laptop', true, [['inbox', null, 0, 0]])], false, new Set()).missing).toEqual([]);
  });
});

describe("diff's lists", () => {
  const entry = (folder: string, path: string) => ({ folder, path, size: 1, deleted: false });

  it('joins the folders, cuts at the limit and says how many more there are', () => {
    const lists = [
      { entries: [entry('shared', 'a'), entry('shared', 'b')], total: 5 },
      { entries: [entry('deliverables', 'c')], total: 1 },
    ];
    expect(capped(lists, 2)).toEqual({ entries: [entry('shared', 'a'), entry('shared', 'b')], more: 4 });
    expect(capped(lists, 10)).toEqual({ entries: [entry('shared', 'a'), entry('shared', 'b'), entry('deliverables', 'c')], more: 3 });
    // A count read a moment before the list never makes "more" negative.
    expect(capped([{ entries: [entry('shared', 'a')], total: 0 }], 10)).toEqual({ entries: [entry('shared', 'a')], more: 0 });
    expect(capped([], 10)).toEqual({ entries: [], more: 0 });
  });
});

describe("diff's paging through Syncthing's lists", () => {
  /** A list of `length` items served in pages as Syncthing serves them; records the pages asked for. */
  const served = (length: number) => {
    const asked: [number, number][] = [];
    const fetch = async (page: number, perpage: number) => {
      asked.push([page, perpage]);
      const from = (page - 1) * perpage;
      return Array.from({ length: Math.max(0, Math.min(perpage, length - from)) }, (_, index) => ({ name: `f${from + index}`, size: from + index, deleted: false }));
    };
    return { asked, fetch };
  };

  it('asks page after page until the limit, and stops at a short page', async () => {
    const long = served(5000);
    const entries = await listPages('shared', 1500, long.fetch);
    expect(entries).toHaveLength(1500);
    expect(entries.at(-1)).toEqual({ folder: 'shared', path: 'f1499', size: 1499, deleted: false });
    expect(long.asked).toEqual([[1, 1000], [2, 1000]]);
    const short = served(2300);
    expect(await listPages('shared', 5000, short.fetch)).toHaveLength(2300);
    expect(short.asked).toEqual([[1, 1000], [2, 1000], [3, 1000]]);
    const small = served(3);
    expect((await listPages('inbox', 100, small.fetch)).map((entry) => entry.path)).toEqual(['f0', 'f1', 'f2']);
    expect(small.asked).toEqual([[1, 100]]);
  });
});

describe("sync's --timeout", () => {
  it('takes a number and a unit, defaults to ten minutes, and refuses anything else as bad input', () => {
    expect(parseSyncTimeout('5s')).toBe(5000);
    expect(parseSyncTimeout('2h')).toBe(7_200_000);
    expect(parseSyncTimeout(undefined)).toBe(DEFAULT_SYNC_TIMEOUT_MS);
    for (const text of ['5', 'soon', '0s', '-5s']) expect(() => parseSyncTimeout(text)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
