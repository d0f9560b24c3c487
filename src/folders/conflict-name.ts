/**
 * Syncthing's conflict copies: when two machines changed a file while apart, the losing version is kept
 * beside it as `NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT` (EXT being the original's last extension;
 * the copy is made by the machine whose version lost, at its local time; DEVICE is the first 7 characters
 * of the device ID that made the change it lost to, as Syncthing 1.19 does it: a real pair's copy of
 * A's losing edit is named after B). One parser for every command and event that needs them.
 */
export interface ConflictCopy {
  /** The path of the file it is a copy of, in the same directory. */
  original: string;
  /**
   * The short device ID (7 characters) Syncthing named the copy after: the device whose change this
   * version lost to, not the one whose version the copy holds (folders/conflicts.ts conflictAuthor).
   */
  namedAfter: string;
  /** When the copy was made, as Syncthing wrote it: `YYYYMMDD-HHMMSS`, in that machine's local time. */
  stamp: string;
}

const CONFLICT = /^(.*)\.sync-conflict-(\d{8}-\d{6})-([A-Z2-7]{7})(\.[^./]*)?$/;

/** The conflict copy `path` is (a folder-relative or absolute path, '/'-separated), or undefined for any other file. */
export function parseConflictName(path: string): ConflictCopy | undefined {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const match = CONFLICT.exec(path.slice(slash + 1));
  // A dotfile's whole name is its extension (`.env` -> `.sync-conflict-...-DEVICE.env`); no name and no extension is no copy.
  if (match === null || (match[1] === '' && match[4] === undefined)) return undefined;
  return { original: `${dir}${match[1]}${match[4] ?? ''}`, namedAfter: match[3]!, stamp: match[2]! };
}

export function isConflictCopy(path: string): boolean {
  return parseConflictName(path) !== undefined;
}
