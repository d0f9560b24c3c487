import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher, notificationId } from '../../src/notify/batcher.js';
import type { BotsyncEvent, FileReceivedEvent, Notification } from '../../src/notify/types.js';

const file = (path: string, folder = 'shared'): FileReceivedEvent => ({
  type: 'file.received',
  time: new Date().toISOString(),
  folder,
  path,
  action: 'update',
  size: 10,
});

const connected: BotsyncEvent = { type: 'device.connected', time: '2026-01-01T00:00:00.000Z', deviceId: 'AAAAAAA-BBBBBBB', name: 'bob' };

describe('Batcher', () => {
  let sent: Notification[];
  let batcher: Batcher;
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00.000Z') });
    sent = [];
    batcher = new Batcher({ onNotification: (n) => void sent.push(n) });
  });
  afterEach(() => vi.useRealTimers());

  it('sends 200 files that arrive within a second as ONE notification, 2 s after the last', () => {
    for (let i = 0; i < 200; i++) {
      batcher.add(file(`burst/${i}.txt`));
      vi.advanceTimersByTime(5);
    }
    // The last file came at t = 995 ms; its quiet window ends 2 s later.
    vi.advanceTimersByTime(1_999 - 5);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.eventCount).toBe(200);
    expect(sent[0]!.message).toMatch(/^botsync: 200 files arrived from peers in shared\/\./);
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(1);
  });

  it('sends a steady trickle (a file every 500 ms for 30 s) every 10 s', () => {
    const start = Date.now();
    const at: number[] = [];
    batcher = new Batcher({ onNotification: (n) => void (sent.push(n), at.push(Date.now() - start)) });
    for (let i = 0; i < 60; i++) {
      batcher.add(file(`trickle/${i}.txt`));
      vi.advanceTimersByTime(500);
    }
    vi.advanceTimersByTime(10_000);
    expect(at).toEqual([10_000, 20_000, 30_000]);
    expect(sent.map((n) => n.eventCount)).toEqual([20, 20, 20]);
  });

  it('flushes the pending batch before a device event, then sends the device event at once', () => {
    batcher.add(file('a.txt'));
    batcher.add(file('b.txt', 'inbox'));
    vi.advanceTimersByTime(100);
    batcher.add(connected);
    expect(sent).toHaveLength(2);
    expect(sent[0]!.message).toMatch(/^botsync: 2 files arrived from peers in shared\/ and inbox\/\./);
    expect(sent[1]!.message).toBe('botsync: peer "bob" (device AAAAAAA-BBBBBBB) connected.');
    expect(sent[1]!.eventCount).toBe(1);
    // The batch's timers were cleared with it: nothing more later.
    vi.advanceTimersByTime(20_000);
    expect(sent).toHaveLength(2);
  });

  it('sends immediate events on their own when no batch is open', () => {
    batcher.add({ type: 'events.missed', time: '2026-01-01T00:00:00.000Z', reason: 'Syncthing restarted', count: null });
    batcher.add({ type: 'folder.error', time: '2026-01-01T00:00:00.000Z', folder: 'shared', errors: [{ path: 'x', error: 'denied' }] });
    expect(sent.map((n) => n.message.split('\n')[0])).toEqual([
      'botsync: some events may have been missed (Syncthing restarted); files may have arrived or peers changed state without a notification: check the folders.',
      'botsync: 1 item in shared/ could not be synced.',
    ]);
  });

  it('flush() closes the open batch now, and does nothing when none is open', () => {
    batcher.flush();
    expect(sent).toEqual([]);
    batcher.add(file('now.txt'));
    batcher.flush();
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(20_000);
    expect(sent).toHaveLength(1);
    batcher.add(file('next.txt'));
    vi.advanceTimersByTime(2_000);
    expect(sent).toHaveLength(2);
  });

  it('tells the oldest source id it still holds, until the batch is out', () => {
    expect(batcher.heldSince()).toBeNull();
    batcher.add(file('a.txt'), 41);
    batcher.add(file('b.txt'), 42);
    batcher.add(file('c.txt'));
    expect(batcher.heldSince()).toBe(41);
    expect(batcher.pending).toBe(3);
    vi.advanceTimersByTime(2_000);
    expect(batcher.heldSince()).toBeNull();
    expect(batcher.pending).toBe(0);
  });

  it('keepOnly leaves in the open batch what a narrower filter accepts, and lets go of the source ids of what it left out', () => {
    batcher.add(file('a.txt', 'shared'), 40);
    batcher.add(file('b.txt', 'inbox'), 41);
    batcher.add(file('c.txt', 'shared'), 42);
    batcher.keepOnly((event) => event.folder === 'inbox');
    expect(batcher.pending).toBe(1);
    expect(batcher.heldSince()).toBe(41);
    vi.advanceTimersByTime(2_000);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.eventCount).toBe(1);
    expect(sent[0]!.message).toContain('"b.txt"');
    expect(sent[0]!.message).not.toContain('"a.txt"');
    // Nothing left: no batch and no timer.
    batcher.add(file('d.txt', 'shared'), 43);
    batcher.keepOnly(() => false);
    expect(batcher.heldSince()).toBeNull();
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(1);
  });

  it('keeps a batch whose hand-over failed in a timer, reports it, and retries', () => {
    let fail = true;
    const errors: unknown[] = [];
    batcher = new Batcher({
      onNotification: (n) => {
        if (fail) throw new Error('disk full');
        sent.push(n);
      },
      onError: (error) => void errors.push(error),
    });
    batcher.add(file('kept.txt'), 7);
    vi.advanceTimersByTime(2_000);
    expect(errors).toHaveLength(1);
    expect(batcher.heldSince()).toBe(7);
    fail = false;
    vi.advanceTimersByTime(2_000);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.message).toContain('"kept.txt"');
  });

  it('gives notifications unique ids that sort by time, and an ISO createdAt', () => {
    batcher.add(connected);
    vi.advanceTimersByTime(1);
    batcher.add(connected);
    const [first, second] = sent;
    expect(first!.id).not.toBe(second!.id);
    expect(first!.id).toMatch(/^20260301T120000000Z-\d{6}-[0-9a-f]{12}$/);
    expect(first!.id < second!.id).toBe(true);
    expect(first!.createdAt).toBe('2026-03-01T12:00:00.000Z');
    const ids = Array.from({ length: 1000 }, () => notificationId(Date.parse('2026-03-01T12:00:00Z')));
    expect(new Set(ids).size).toBe(1000);
    // Within one millisecond, ids still sort in the order they were made: the outbox sends in that order.
    expect([...ids].sort()).toEqual(ids);
  });

  it('sends a mass deletion at once, after the batch that listed the files, naming the peer and `botsync recover`', () => {
    batcher.add({ ...file('gone.txt'), action: 'delete', size: null }, 3);
    batcher.add({ type: 'files.deleted', time: '2026-03-01T12:00:00.000Z', folder: 'shared', count: 50, from: 'bob', paths: ['gone.txt'] }, 3);
    expect(sent).toHaveLength(2);
    expect(sent[0]!.message).toMatch(/^botsync: 1 file arrived from peers in shared\/ \(1 deleted\)/);
    expect(sent[1]!.message.split('\n')[0]).toBe('botsync: Peer "bob" deleted 50 files in shared/ at once.');
    expect(sent[1]!.message).toContain('botsync recover PATH');
    expect(sent[1]!.message).toContain('- shared/ "gone.txt"\n... and 49 more.');
    expect(batcher.heldSince()).toBeNull();
  });
});
