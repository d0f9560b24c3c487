import type { BigIntStats } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NewDirectories } from '../../src/daemon/new-directories.js';
import { afterIo, scansAt } from '../helpers/fake-clock.js';

describe('the scans held below a new directory', () => {
  let directories: NewDirectories;
  let scanned: string[];
  const QUIET_MS = 20;
  const quiet = () => new Promise((resolve) => setTimeout(resolve, 3 * QUIET_MS));
  const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  /** What a look at a file finds, as far as the quiet time asks: a file, empty or not. */
  const file = (size: number) => ({ isFile: () => true, size: BigInt(size) }) as BigIntStats;

  afterEach(() => {
    directories.close();
    vi.useRealTimers();
  });

  /** `filledQuietMs`: the same as the longer one unless a test is about the two. */
  function make(filledQuietMs = QUIET_MS): void {
    scanned = [];
    directories = new NewDirectories((path) => scanned.push(path), { quietMs: QUIET_MS, filledQuietMs, capMs: 10 * QUIET_MS, now: () => Date.now() });
  }

  it('covers what lies below it, and a directory inside it by it alone', () => {
    make();
    directories.start('a');
    directories.start('a/b');
    expect(directories.defer('a/b/c.md')).toBe(true);
    expect(directories.defer('ab/c.md')).toBe(false);
    expect(directories.defer('c.md')).toBe(false);
    // Held by 'a' alone: 'a/b' has no hold of its own to confirm or release.
    expect(directories.confirm('a/b')).toBe(false);
    expect(directories.release('a/b')).toBe(false);
    expect(directories.release('a')).toBe(true);
    expect(scanned).toEqual(['a/b/c.md']);
    expect(directories.defer('a/b/c.md')).toBe(false);
  });

  it('scans a directory confirmed twice once, and nothing after close', async () => {
    make();
    directories.start('mine');
    directories.confirm('mine');
    directories.confirm('mine');
    await quiet();
    expect(scanned).toEqual(['mine']);
    directories.start('later');
    directories.confirm('later');
    directories.close();
    await quiet();
    expect(scanned).toEqual(['mine']);
  });

  it('scans a directory once nothing changed below it for quietMs: an answer about an earlier change is none', async () => {
    fakeTimers();
    make();
    directories.start('d');
    vi.advanceTimersByTime(5);
    // A file seen below it, looked up in the index: the change counts now...
    directories.changed('d/f1');
    vi.advanceTimersByTime(5);
    directories.confirm('d');
    vi.advanceTimersByTime(5);
    // ...and not again when the lookup answers.
    expect(directories.defer('d/f1', false)).toBe(true);
    await scansAt(QUIET_MS - 10, scanned, ['d']);
  });

  it('waits again for a change below it: a file, a subdirectory', async () => {
    fakeTimers();
    make();
    directories.start('d');
    directories.confirm('d');
    vi.advanceTimersByTime(QUIET_MS - 5);
    expect(directories.defer('d/f2')).toBe(true);
    vi.advanceTimersByTime(QUIET_MS - 5);
    directories.start('d/sub');
    await scansAt(QUIET_MS, scanned, ['d']);
  });

  it('waits the shorter quiet time once no file seen empty below it waits for its write', async () => {
    fakeTimers();
    make(QUIET_MS / 4);
    directories.start('d');
    directories.saw('d/a', file(0));
    directories.saw('d/b', file(0));
    directories.confirm('d');
    directories.saw('d/a', 'written');
    vi.advanceTimersByTime(QUIET_MS / 4);
    await afterIo();
    // b is still empty.
    expect(scanned).toEqual([]);
    // Gone: nothing left to wait for.
    directories.saw('d/b', null);
    await scansAt(QUIET_MS / 4, scanned, ['d']);
    // Found with content by a walk: written already.
    directories.start('e');
    directories.confirm('e');
    directories.saw('e/c', file(10));
    vi.advanceTimersByTime(QUIET_MS / 4);
    await afterIo();
    expect(scanned).toEqual(['d', 'e']);
  });

  it('judges a quiet time after the changes that waited behind its timer', async () => {
    fakeTimers();
    make();
    directories.start('d');
    directories.confirm('d');
    vi.advanceTimersByTime(QUIET_MS);
    // Seen before the check runs, as an event waiting in the loop is.
    directories.changed('d/late');
    await afterIo();
    expect(scanned).toEqual([]);
    vi.advanceTimersByTime(QUIET_MS);
    await afterIo();
    expect(scanned).toEqual(['d']);
  });
});
