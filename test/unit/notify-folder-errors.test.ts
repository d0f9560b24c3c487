import { describe, expect, it } from 'vitest';
import { FolderErrorNews, REMIND_AFTER_MS } from '../../src/notify/folder-errors.js';
import type { FolderErrorEvent } from '../../src/notify/types.js';

const failed = (errors: [string, string][], folder = 'shared'): FolderErrorEvent => ({
  type: 'folder.error',
  time: 't',
  folder,
  errors: errors.map(([path, error]) => ({ path, error })),
});
const space = (free: string) => `syncing: insufficient space in folder "botsync shared" (shared) (/h/shared): current ${free} < required 5 MB`;

describe('which folder errors are news', () => {
  it('reports a failing item once, not on every retry, even when the figures in the error change', () => {
    let now = 0;
    const news = new FolderErrorNews(() => now);
    const first = failed([['big-1.bin', space('4.1 MB')], ['big-2.bin', space('4.1 MB')]]);
    expect(news.filter(first)).toBe(first);
    now += 60_000;
    expect(news.filter(failed([['big-1.bin', space('4.0 MB')], ['big-2.bin', space('4.0 MB')]]))).toBeUndefined();
    // Another item, or another kind of failure, is news; the event lists every current error.
    const more = failed([['big-1.bin', space('4.0 MB')], ['big-3.bin', space('4.0 MB')]]);
    expect(news.filter(more)).toBe(more);
    const other = failed([['big-1.bin', 'open /h/shared/big-1.bin: permission denied']]);
    expect(news.filter(other)).toBe(other);
    // ... and in another folder.
    expect(news.filter(failed([['big-1.bin', space('4.0 MB')]], 'inbox'))).toBeDefined();
  });

  it('reminds once an hour while it goes on, and reports it again after the item synced', () => {
    let now = 0;
    const news = new FolderErrorNews(() => now);
    news.filter(failed([['a.bin', space('1 MB')]]));
    now += REMIND_AFTER_MS - 1;
    expect(news.filter(failed([['a.bin', space('1 MB')]]))).toBeUndefined();
    now += 1;
    expect(news.filter(failed([['a.bin', space('1 MB')]]))).toBeDefined();
    expect(news.filter({ type: 'file.received', time: 't', folder: 'shared', path: 'a.bin', action: 'update', size: 1 })).toBeDefined();
    expect(news.filter(failed([['a.bin', space('1 MB')]]))).toBeDefined();
  });

  it('always reports a folder that stopped as a whole, and passes every other event through', () => {
    const news = new FolderErrorNews(() => 0);
    const stopped: FolderErrorEvent = { type: 'folder.error', time: 't', folder: 'shared', reason: 'folder path missing', errors: [] };
    expect(news.filter(stopped)).toBe(stopped);
    expect(news.filter(stopped)).toBe(stopped);
    const connected = { type: 'device.connected' as const, time: 't', deviceId: 'D', name: 'bob' };
    expect(news.filter(connected)).toBe(connected);
  });
});
