import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { LOCAL_IGNORE_FILE } from './ignore-rules.js';

/**
 * Whether the file system under a folder tells names apart by case. Syncthing cannot know, so by
 * default (`caseSensitiveFS` false) it guards every path it writes against a case-only clash: it lists
 * the parent directory (cached for a second) and compares. On a receiving Linux machine that guard is
 * a third of what a burst of small files costs it (measured: 30-37% of its CPU for 1,000 files of 1 KB).
 * Syncthing's documentation allows turning the guard off where the file system is "positively known
 * to be case-sensitive", so this answers only from evidence: the `.stignore` botsync keeps in every
 * folder, looked up under its upper-case name. Looking inside the folder (not at its path from the
 * parent) tells a FAT or exFAT disk mounted there, or a case-folding directory, from the disk above.
 * Nothing is created, so neither watcher sees a thing. A case-insensitive disk mounted further down,
 * inside the folder, is not seen.
 *
 * true: a different name (or none) answers; false: the same file answers; undefined: no evidence yet
 * (no `.stignore` there, or the folder cannot be read), and the caller keeps Syncthing's guard.
 */
export async function namesCaseSensitive(dir: string, statOf: (path: string) => Promise<Stats> = lstat): Promise<boolean | undefined> {
  const own = await statOrWhy(statOf, join(dir, LOCAL_IGNORE_FILE));
  if (typeof own === 'string') return undefined;
  const folded = await statOrWhy(statOf, join(dir, LOCAL_IGNORE_FILE.toUpperCase()));
  if (folded === 'ENOENT') return true;
  if (typeof folded === 'string') return undefined;
  if (folded.ino === own.ino && folded.dev === own.dev) return false;
  // Another inode that looks the same in every other way may be the same file under inode numbers a
  // client makes up per name (a case-insensitive SMB share mounted with noserverino): no evidence.
  return sameLook(folded, own) ? undefined : true;
}

function sameLook(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mode === b.mode && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** The name's stats, or why there are none that tell anything: missing, or a folder this user may not read. */
async function statOrWhy(statOf: (path: string) => Promise<Stats>, path: string): Promise<Stats | string> {
  try {
    return await statOf(path);
  } catch (error) {
    const code = errnoCode(error) ?? '';
    if (['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM'].includes(code)) return code;
    throw error;
  }
}
