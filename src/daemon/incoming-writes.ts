import { lstatSync, type BigIntStats } from 'node:fs';
import { join, posix } from 'node:path';
import { errnoCode } from '../errors.js';

/**
 * Tells Syncthing's own writes apart from everyone else's, exactly. Syncthing writes a file it
 * receives as `.syncthing.NAME.tmp` (`~syncthing~NAME.tmp` on Windows) beside it, renames it into
 * place and then sets its mtime to the sender's (1.19, traced: fchmodat, renameat, utimensat); the
 * temporary file announces the write. Scanning what Syncthing wrote is wasted work, a scan per file in
 * a burst of received files, but a time window after the write is not enough: a person answering a
 * file a second after it arrived would wait for Syncthing's own watcher. So NAME's change is
 * Syncthing's only when the rename has happened (the temporary file is gone) and the file is still
 * what the rename put there, changed at most by one mtime set to a past moment (Syncthing's
 * utimensat; a write sets mtime and ctime to the same moment, now). Any other change of NAME, in
 * place, of its mode or by a new file, is someone else's, or, within moments of Syncthing's write,
 * left for Syncthing's index to tell (LocalChanges).
 */
export class IncomingWrites {
  /** Files whose temporary file was seen, until when their rename may still come. */
  private readonly writing = new Map<string, number>();
  /**
   * What Syncthing's rename put in place, until when a repeated event for it is expected; `mtimeSet`:
   * the one change Syncthing makes after the rename, its utimensat, was seen.
   */
  private readonly written = new Map<string, { file: FileIdentity; until: number; mtimeSet: boolean }>();
  /**
   * Renamed into place with mtime equal to ctime when first looked at: Syncthing's write before its
   * utimensat (the temporary file written in the same clock tick as the rename), or a write since
   * the rename, made before a daemon behind a burst got to its event. Looked at again once
   * Syncthing's utimensat is due: still unchanged, and the write was someone else's.
   */
  private readonly unsure = new Map<string, number>();
  private settle: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly settleMs: number;
  private readonly now: () => number;
  private readonly othersWrite: (path: string, error?: unknown) => void;

  constructor(
    private readonly root: string,
    options: {
      /**
       * How long a rename may come after its temporary file's last change, and events for what it put
       * in place after it. Syncthing's utimensat comes 25 ms after the rename on a quiet machine, but
       * measured during a burst of 1,000 files on 2 cores, 5% of them came more than 2 s after.
       */
      windowMs?: number;
      /**
       * How long after the rename Syncthing's utimensat is waited for, when the rename alone cannot
       * tell (traced: 25 ms on a quiet machine, and some seconds behind a burst); one later still costs
       * a scan, and a person's write in that case waits this long for it.
       */
      settleMs?: number;
      now?: () => number;
      /** Told of a change first taken for Syncthing's that the second look found to be someone else's, or could not tell. */
      othersWrite?: (path: string, error?: unknown) => void;
    } = {},
  ) {
    this.windowMs = options.windowMs ?? 10_000;
    this.settleMs = options.settleMs ?? 2_000;
    this.now = options.now ?? Date.now;
    this.othersWrite = options.othersWrite ?? (() => undefined);
  }

  /**
   * Whose a change of a path (folder-relative, '/'-separated) is; temporary files are always
   * Syncthing's. 'unsure': Syncthing wrote the path moments ago and it has changed in a way these rules
   * do not know (1.19 was seen setting a second mtime); its index can tell. Synchronous, as the tree
   * watcher's look at a new entry is: it runs for every file of a burst of received files, and a
   * stat's promise form costs some 30x its CPU. `entry`: what the tree watcher found at the path on
   * this event (null: nothing), so that it is not looked at twice.
   */
  judge(path: string, entry?: BigIntStats | null): Verdict {
    const now = this.now();
    const target = targetOf(path);
    if (target !== undefined) {
      this.writing.set(target, now + this.windowMs);
      if (this.writing.size + this.written.size > 10_000) this.prune(now);
      return 'syncthing';
    }
    const writingUntil = this.writing.get(path);
    const known = this.written.get(path);
    const unknown = (writingUntil === undefined || writingUntil < now) && (known === undefined || known.until < now);
    // Unknown and there (entry given): someone else's. Unknown and gone: Syncthing's if its temporary file is there.
    if (unknown && entry !== null) return 'others';
    // Nothing there when the tree watcher looked may be stale: replacing a file, 1.19 moves the old
    // version to .stversions while the new one's temporary file is there, and renames that in moments later.
    const file = entry === undefined || entry === null ? identityOf(join(this.root, ...path.split('/'))) : identity(entry);
    const temporaryThere = () => identityOf(join(this.root, ...temporaryOf(path).split('/'))) !== undefined;
    if (file === undefined) {
      // The rename to come puts NAME in place. Had someone deleted the older NAME, the incoming
      // version would win all the same (a deletion never wins a conflict).
      if (temporaryThere()) {
        this.writing.set(path, now + this.windowMs);
        return 'syncthing';
      }
      this.forget(path);
      return 'others';
    }
    if (writingUntil !== undefined && writingUntil >= now) {
      // Still there, the temporary file is being written: this change of NAME is not its rename.
      if (temporaryThere()) return 'others';
      this.writing.delete(path);
      this.written.set(path, { file, until: now + this.windowMs, mtimeSet: false });
      if (file.mtimeNs === file.ctimeNs) this.doubt(path, now);
      return 'syncthing';
    }
    if (unknown) return 'others';
    if (known !== undefined && sameFile(known.file, file)) return 'syncthing';
    if (known !== undefined && !known.mtimeSet && isMtimeSet(known.file, file)) {
      known.file = file;
      known.mtimeSet = true;
      this.unsure.delete(path);
      return 'syncthing';
    }
    this.forget(path);
    return 'unsure';
  }

  /**
   * A file Syncthing's index holds as it is on disk, or as it will be once Syncthing has set its mtime
   * (`mtimeSet` false: found by the walk of a new directory between the rename and the utimensat):
   * Syncthing's write, judged from now on as one whose rename was seen.
   */
  adopt(path: string, stats: BigIntStats, mtimeSet: boolean): void {
    const now = this.now();
    const file = identity(stats);
    this.written.set(path, { file, until: now + this.windowMs, mtimeSet });
    // Its utimensat is due: without it the file was someone's of the same size (tar x, cp -p), scanned then.
    if (!mtimeSet) this.doubt(path, now);
  }

  close(): void {
    clearTimeout(this.settle);
    this.settle = undefined;
  }

  private forget(path: string): void {
    this.written.delete(path);
    this.unsure.delete(path);
  }

  private doubt(path: string, now: number): void {
    this.unsure.set(path, now + this.settleMs);
    this.settle ??= setTimeout(() => this.lookAgain(), this.settleMs);
  }

  private lookAgain(): void {
    this.settle = undefined;
    const now = this.now();
    for (const [path, due] of this.unsure) {
      if (due > now) continue;
      this.unsure.delete(path);
      const known = this.written.get(path);
      let file: FileIdentity | undefined;
      try {
        file = identityOf(join(this.root, ...path.split('/')));
      } catch (error) {
        // Cannot be told apart: scanned.
        this.othersWrite(path, error);
        continue;
      }
      // Gone, replaced or rewritten since: its own events say so. Still as it was: no utimensat came.
      // What is known stays: a utimensat later still than this is Syncthing's, and the scan is asked.
      if (file !== undefined && known !== undefined && sameFile(known.file, file)) this.othersWrite(path);
    }
    const next = Math.min(...this.unsure.values());
    if (Number.isFinite(next)) this.settle = setTimeout(() => this.lookAgain(), Math.max(0, next - now));
  }

  private prune(now: number): void {
    for (const [path, until] of this.writing) if (until < now) this.writing.delete(path);
    for (const [path, { until }] of this.written) if (until < now && !this.unsure.has(path)) this.written.delete(path);
  }
}

/**
 * Whose a change is: Syncthing's own write (nothing to scan), someone else's (to be scanned), or, for
 * a path Syncthing wrote moments ago that changed in a way the rules do not know, for its index to say.
 */
export type Verdict = 'syncthing' | 'others' | 'unsure';

/** What a scan compares of a file, and the inode it is. */
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

/** Nothing changed: a repeated event. */
function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mode === b.mode && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * Syncthing's utimensat after the rename: the same inode, size and permissions, an mtime set to a
 * moment before the rename (the sender's; a write moves mtime and ctime together, to now). Taken once
 * per write: a second such change is someone else's (`cp -p`, `touch -d`).
 */
function isMtimeSet(renamed: FileIdentity, after: FileIdentity): boolean {
  if (renamed.ino !== after.ino || renamed.size !== after.size || renamed.mode !== after.mode) return false;
  return after.mtimeNs !== after.ctimeNs && after.mtimeNs < renamed.ctimeNs;
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
