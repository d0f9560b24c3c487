import { afterEach, describe, expect, it } from 'vitest';
import { NewDirectories } from '../../src/daemon/new-directories.js';

describe('the scans held below a new directory', () => {
  let directories: NewDirectories;
  let scanned: string[];
  const QUIET_MS = 20;
  const quiet = () => new Promise((resolve) => setTimeout(resolve, 3 * QUIET_MS));

  afterEach(() => directories.close());

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
});
