import type { Stats } from 'node:fs';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { namesCaseSensitive } from '../../src/folders/case-sensitivity.js';

const enoent = (path: string) => Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });

/** A case-folding disk (FAT, exFAT, a casefold directory) as lstat sees it: any spelling of a name finds the file. */
function foldingDisk(dir: string): (path: string) => Promise<Stats> {
  return async (path) => {
    if (dirname(path) !== dir) throw enoent(path);
    return lstat(join(dir, basename(path).toLowerCase()));
  };
}

describe('namesCaseSensitive', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'botsync-case-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says case-sensitive on a Linux temporary directory, from the folder\'s .stignore', async () => {
    await writeFile(join(dir, '.stignore'), '');
    expect(await namesCaseSensitive(dir)).toBe(true);
  });

  it('says case-sensitive when an upper-case name is another file', async () => {
    await writeFile(join(dir, '.stignore'), '');
    await writeFile(join(dir, '.STIGNORE'), 'someone else\'s');
    expect(await namesCaseSensitive(dir)).toBe(true);
  });

  it('has no answer when the upper-case name is another inode that looks the same in every other way (made-up inode numbers)', async () => {
    await writeFile(join(dir, '.stignore'), '');
    const madeUp = async (path: string) => {
      const stats = await lstat(join(dir, '.stignore'));
      if (path.endsWith('.STIGNORE')) stats.ino += 1;
      return stats;
    };
    expect(await namesCaseSensitive(dir, madeUp)).toBeUndefined();
  });

  it('says not case-sensitive when the upper-case name finds the same file', async () => {
    await writeFile(join(dir, '.stignore'), '');
    expect(await namesCaseSensitive(dir, foldingDisk(dir))).toBe(false);
  });

  it('has no answer without a .stignore, or when the upper-case lookup is refused', async () => {
    expect(await namesCaseSensitive(dir)).toBeUndefined();
    expect(await namesCaseSensitive(join(dir, 'missing'))).toBeUndefined();
    await writeFile(join(dir, '.stignore'), '');
    const refused = async (path: string) => {
      if (path.endsWith('.STIGNORE')) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      return lstat(path);
    };
    expect(await namesCaseSensitive(dir, refused)).toBeUndefined();
  });

  it('passes on an error it does not expect', async () => {
    const broken = async () => {
      throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    };
    await expect(namesCaseSensitive(dir, broken)).rejects.toThrow('EIO');
  });
});
