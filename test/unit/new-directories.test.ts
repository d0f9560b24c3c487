import { afterEach, describe, expect, it, vi } from 'vitest';
import { NewDirectories } from '../../src/daemon/new-directories.js';

describe('the scans held below a new directory', () => {
  let directories: NewDirectories;
  let scanned: string[];
  const QUIET_MS = 20;
  const quiet = () => new Promise((resolve) => setTimeout(resolve, 3 * QUIET_MS));

  afterEach(() => {
    directories.close();
    vi.useRealTimers();
  });

  function make(): void {
    scanned = [];
    directories = new NewDirectories((path) => scanned.push(path), { quietMs: QUIET_MS, capMs: 10 * QUIET_MS });
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

  it('scans a directory once nothing changed below it for quietMs: an answer about an earlier change is none', () => {
    vi.useFakeTimers();
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
    vi.advanceTimersByTime(QUIET_MS - 11);
    expect(scanned).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(scanned).toEqual(['d']);
  });

  it('waits again for a change below it: a file, a subdirectory', () => {
    vi.useFakeTimers();
    make();
    directories.start('d');
    directories.confirm('d');
    vi.advanceTimersByTime(QUIET_MS - 5);
    expect(directories.defer('d/f2')).toBe(true);
    vi.advanceTimersByTime(QUIET_MS - 5);
    directories.start('d/sub');
    vi.advanceTimersByTime(QUIET_MS - 1);
    expect(scanned).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(scanned).toEqual(['d']);
  });
});
