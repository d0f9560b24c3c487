/**
 * Symbolic links in the folders. Syncthing syncs a link as its text and never follows it, so a peer
 * can make `shared/escape -> /` on this machine: harmless to Syncthing, but any program (or agent)
 * that opens a path through it reads or writes outside the folder. botsync reports such links; it
 * never follows one to decide.
 *
 * Outside means, judged on the link text alone (POSIX rules, as the kernel reads it): an absolute
 * target, or one whose ".." components climb above the folder's root when resolved from the link's
 * own directory. A link to another of botsync's folders (`shared/x -> ../inbox/y`) is outside its
 * folder too. A link that stays inside lexically but passes through another link is judged by that
 * other link, which is reported itself if it leads out.
 */
import { readdir, readlink, realpath } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { errnoCode } from '../errors.js';

/** Whether a link at `path` (folder-relative, '/'-separated) whose text is `target` points outside the folder. */
export function linkLeavesFolder(path: string, target: string): boolean {
  if (posix.isAbsolute(target)) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved === '..' || resolved.startsWith('../');
}

/** What readlink and readdir say of a path that is gone, or that is no longer a link or a directory. */
const GONE = new Set(['ENOENT', 'ENOTDIR', 'EINVAL']);

/**
 * The text of the link at `path` in the folder at `root`, or null when there is no link there (any
 * more). Read only when the link's directory is the folder's own, not one a link leads to.
 */
export async function readLinkIn(root: string, path: string): Promise<string | null> {
  const parts = path.split('/');
  const at = join(root, ...parts);
  try {
    if ((await realpath(dirname(at))) !== join(await realpath(root), ...parts.slice(0, -1))) return null;
    return await readlink(at);
  } catch (error) {
    if (GONE.has(errnoCode(error) ?? '')) return null;
    throw error;
  }
}

export interface EscapingLink {
  /** Folder-relative, '/'-separated. */
  path: string;
  target: string;
}

export interface LinkScan {
  /** The first `limit` escaping links found, in name order. */
  links: EscapingLink[];
  /** How many there are in all. */
  total: number;
  /** Directories that could not be read (permissions): links in them are not known. */
  unreadable: string[];
}

/** Syncthing's versions of replaced and deleted files, at the folder's root: never synced, not the folder's content. */
const VERSIONS_DIR = '.stversions';

/** Every link in the folder at `root` that points outside it, found without following any link. */
export async function escapingLinks(root: string, limit: number): Promise<LinkScan> {
  const scan: LinkScan = { links: [], total: 0, unreadable: [] };
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(root, dir), { withFileTypes: true });
    } catch (error) {
      if (GONE.has(errnoCode(error) ?? '')) return;
      if (errnoCode(error) !== 'EACCES') throw error;
      scan.unreadable.push(dir);
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory() && path !== VERSIONS_DIR) await walk(path);
      if (!entry.isSymbolicLink()) continue;
      const target = await readLinkIn(root, path);
      if (target === null || !linkLeavesFolder(path, target)) continue;
      scan.total += 1;
      if (scan.links.length < limit) scan.links.push({ path, target });
    }
  };
  await walk('');
  return scan;
}
