import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReceivedAuthors, type Waiting } from '../../src/notify/authors.js';

describe('ReceivedAuthors', () => {
  let overdue: Waiting<string>[][];
  let authors: ReceivedAuthors<string>;
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-12-01T12:00:00.000Z') });
    overdue = [];
    authors = new ReceivedAuthors<string>({ onOverdue: (items) => void overdue.push(items), waitMs: 5_000 });
  });
  afterEach(() => {
    authors.takeAll();
    vi.useRealTimers();
  });

  it('gives a finished item the author its later change names, and holds the cursor behind it meanwhile', () => {
    expect(authors.finished('shared\0a.txt', 'A', 10)).toBeUndefined();
    expect(authors.finished('shared\0b.txt', 'B', 11)).toBeUndefined();
    expect(authors.heldSince()).toBe(10);
    expect(authors.changed('shared\0b.txt', 'BOBBBBB')).toEqual({ value: 'B', sourceId: 11 });
    expect(authors.heldSince()).toBe(10);
    expect(authors.changed('shared\0a.txt', 'ALICEEE')).toEqual({ value: 'A', sourceId: 10 });
    expect(authors.heldSince()).toBeNull();
    vi.advanceTimersByTime(60_000);
    expect(overdue).toEqual([]);
  });

  it('takes a change that came first, once, and pairs two versions of one file in order', () => {
    expect(authors.changed('shared\0a.txt', 'ALICEEE')).toBeUndefined();
    expect(authors.finished('shared\0a.txt', 'A1', 1)).toBe('ALICEEE');
    expect(authors.finished('shared\0a.txt', 'A2', 2)).toBeUndefined();
    expect(authors.finished('shared\0a.txt', 'A3', 3)).toBeUndefined();
    expect(authors.changed('shared\0a.txt', 'BOBBBBB')).toEqual({ value: 'A2', sourceId: 2 });
    expect(authors.changed('shared\0a.txt', 'CAROLLL')).toEqual({ value: 'A3', sourceId: 3 });
  });

  it('hands back, oldest first, the items whose change did not come in time, and forgets a change whose item never came', () => {
    authors.finished('shared\0a.txt', 'A', 1);
    vi.advanceTimersByTime(1_000);
    authors.finished('shared\0b.txt', 'B', 2);
    authors.changed('shared\0stray.txt', 'ALICEEE');
    vi.advanceTimersByTime(3_999);
    expect(overdue).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(overdue).toEqual([[{ value: 'A', sourceId: 1 }]]);
    expect(authors.heldSince()).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(overdue).toEqual([[{ value: 'A', sourceId: 1 }], [{ value: 'B', sourceId: 2 }]]);
    expect(authors.heldSince()).toBeNull();
    // The change for a.txt comes late: it completes nothing, and a stray change is not kept past the wait.
    expect(authors.changed('shared\0a.txt', 'ALICEEE')).toBeUndefined();
    vi.advanceTimersByTime(5_000);
    expect(authors.finished('shared\0stray.txt', 'S', 3)).toBeUndefined();
    expect(authors.finished('shared\0a.txt', 'A', 4)).toBeUndefined();
  });

  it('gives every waiting item back at stop, and nothing after', () => {
    authors.finished('shared\0a.txt', 'A', 1);
    authors.finished('inbox\0b.txt', 'B', 2);
    expect(authors.takeAll()).toEqual([{ value: 'A', sourceId: 1 }, { value: 'B', sourceId: 2 }]);
    expect(authors.heldSince()).toBeNull();
    vi.advanceTimersByTime(60_000);
    expect(overdue).toEqual([]);
  });
});
