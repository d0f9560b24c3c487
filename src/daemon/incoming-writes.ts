import { lstatSync, type BigIntStats } from 'node:fs';
import { join, posix } from 'node:path';
import { errnoCode } from '../errors.js';

/**
 * Tells Syncthing's own writes apart from everyone else's, exactly. Syncthing writes a file it
 * receives as `.syncthing.NAME.tmp` (`~syncthing~NAME.tmp` on Windows) beside it and renames it into
 * place; the temporary file announces the write. Scanning what Syncthing wrote is wasted work, a scan
 * per file in a burst of received files, but a time window after the write is not enough: a person
 * answering a file a second after it arrived would wait for Syncthing's own watcher. So NAME's change
 * is Syncthing's only when the rename has happened (the temporary file is gone) and the file is still
 * what the rename put there (the same inode, size, mode, mtime and ctime, to the nanosecond); any
 * later change of NAME, in place or by a new file, is someone else's. One exception: right after the
 * rename Syncthing sets the file's mtime to the sender's (Chtimes; 1.19's performFinish), which a
 * rename's event handled before it does not see. That one change, of the mtime alone to a time that is
 * not the moment of the change, is Syncthing's too: a write sets mtime and ctime to the same moment.
 * Left to the scanner, some 40% of a burst's files were scanned again.
 */
export class IncomingWrites {
  /** Files whose temporary file was seen, until when their rename may still come. */
  private readonly writing = new Map<string, number>();
  /** What Syncthing's rename put in place, until when a repeated event for it is expected. */
  private readonly written = new Map<string, { file: FileIdentity; until: number; timesSet: boolean }>();

  constructor(
    private readonly root: string,
    private readonly windowMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether a changed path (folder-relative, '/'-separated) is a write by Syncthing; temporary files
   * always are. Synchronous, as the tree watcher's look at a new entry is: it runs for every file of
   * a burst of received files, and a stat's promise form costs some 30x its CPU. `entry`: what the
   * tree watcher found at the path on this event (null: nothing), so that it is not looked at twice.
   */
  isSyncthingWrite(path: string, entry?: BigIntStats | null): boolean {
    const now = this.now();
    const target = targetOf(path);
    if (target !== undefined) {
      this.writing.set(target, now + this.windowMs);
      if (this.writing.size + this.written.size > 10_000) this.prune(now);
      return true;
    }
    const writingUntil = this.writing.get(path);
    const known = this.written.get(path);
    if ((writingUntil === undefined || writingUntil < now) && (known === undefined || known.until < now)) return false;
    const file = entry === undefined ? identityOf(join(this.root, ...path.split('/'))) : entry === null ? undefined : identity(entry);
    if (file === undefined) return false;
    if (writingUntil !== undefined && writingUntil >= now) {
      // Still there, the temporary file is being written: this change of NAME is not its rename.
      if ((identityOf(join(this.root, ...temporaryOf(path).split('/')))) !== undefined) return false;
      // What the rename put in place carries an mtime from before the rename (the last write to the
      // temporary file, or the sender's once Syncthing set it) and the rename's ctime; a write since,
      // made before this event was handled (a daemon behind a burst), sets both to the same moment.
      // That file is someone else's, and is scanned.
      if (file.mtimeNs === file.ctimeNs) return false;
      this.writing.delete(path);
      this.written.set(path, { file, until: now + this.windowMs, timesSet: false });
      return true;
    }
    if (known !== undefined && sameFile(known.file, file)) return true;
    if (known !== undefined && !known.timesSet && timesSetOn(known.file, file)) {
      this.written.set(path, { file, until: known.until, timesSet: true });
      return true;
    }
    this.written.delete(path);
    return false;
  }

  private prune(now: number): void {
    for (const [path, until] of this.writing) if (until < now) this.writing.delete(path);
    for (const [path, { until }] of this.written) if (until < now) this.written.delete(path);
  }
}

/** What changes whenever anything writes to a file or replaces it: ctime moves on every change of the inode. */
interface FileIdentity {
  ino: bigint;
  size: bigint;
  mode: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Undefined when gone: a deletion, or the temporary file renamed into place (no exception made for it: the common case). */
function identityOf(path: string): FileIdentity | undefined {
  try {
    const stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    return stats === undefined ? undefined : identity(stats);
  } catch (error) {
    if (errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

function identity({ ino, size, mode, mtimeNs, ctimeNs }: BigIntStats): FileIdentity {
  return { ino, size, mode, mtimeNs, ctimeNs };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mode === b.mode && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** `after` is `before` with only its times set (Chtimes): the mtime moved to a time other than the change's own. */
function timesSetOn(before: FileIdentity, after: FileIdentity): boolean {
  return before.ino === after.ino && before.size === after.size && before.mode === after.mode && after.mtimeNs !== after.ctimeNs;
}

const PREFIXES = ['.syncthing.', '~syncthing~'];

/** Whether a name is one of Syncthing's temporary files, which are never directories. */
export function isSyncthingTemporary(name: string): boolean {
  return targetOf(name) !== undefined;
}

/** The file a Syncthing temporary file will become, or undefined for any other path (asked of every event: slices, not path's parsing). */
function targetOf(path: string): string | undefined {
  if (!path.endsWith('.tmp')) return undefined;
  const start = path.lastIndexOf('/') + 1;
  for (const prefix of PREFIXES) {
    if (path.startsWith(prefix, start) && path.length - start > prefix.length + 4) return `${path.slice(0, start)}${path.slice(start + prefix.length, -'.tmp'.length)}`;
  }
  return undefined;
}

/** Syncthing's temporary file for `path` on this platform. */
function temporaryOf(path: string): string {
  const dir = posix.dirname(path);
  const name = `${process.platform === 'win32' ? PREFIXES[1] : PREFIXES[0]}${posix.basename(path)}.tmp`;
  return dir === '.' ? name : `${dir}/${name}`;
}
