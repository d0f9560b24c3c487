import type { BigIntStats } from 'node:fs';

/**
 * Walks remembered, the latest: far more than are asked while one lookup runs (each has 1 s). One
 * forgotten too soon costs a scan too many, never one too few.
 */
const WALKS_REMEMBERED = 1024;

/**
 * Holds the scans of what lands in a directory that just appeared until it has been filled. A scan
 * of a file in a directory Syncthing does not know yet walks that whole directory, and a program
 * filling one creates each file, then writes it: a scan between the two gives the peers an empty
 * first version, which they pull, then keep in .stversions once the written one comes (measured: the
 * first file of most of 20 new directories, in a burst of 200 files). So while its lookup in the
 * index runs, the scans asked for below a new directory wait; if it is Syncthing's they are asked
 * then, one by one; if it is someone else's, the directory is scanned once, when nothing has changed
 * below it for `quietMs`, or `capMs` after it appeared while changes go on. Once every file seen
 * created empty below it has been written to, the quiet time is `filledQuietMs`: no file is left
 * between its creation and its write that a longer wait would protect (a file scanned alone, in a
 * directory Syncthing knows, waits about as long: the scan scheduler's window).
 */
export class NewDirectories {
  private readonly held = new Map<string, Hold>();
  /**
   * Someone else's directories scanned whole, each with the number of its walk (asked in that order):
   * what lies below one needs no scan for a lookup that began before it was asked.
   */
  private readonly walked = new Map<string, number>();
  private walks = 0;
  private readonly quietMs: number;
  private readonly filledQuietMs: number;
  private readonly capMs: number;
  private readonly now: () => number;

  constructor(
    private readonly scan: (path: string) => void,
    options: { quietMs?: number; filledQuietMs?: number; capMs?: number; now?: () => number } = {},
  ) {
    this.quietMs = options.quietMs ?? 100;
    this.filledQuietMs = Math.min(options.filledQuietMs ?? 20, this.quietMs);
    this.capMs = options.capMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** A directory (folder-relative, '/'-separated, not the root) appeared; one inside a held one is covered by it, a change there. */
  start(dir: string): void {
    const cover = this.covering(dir);
    if (cover !== undefined) return this.touch(cover);
    const now = this.now();
    this.held.set(dir, { dir, since: now, last: now, deferred: new Set(), unwritten: new Set(), someones: false, timer: undefined });
  }

  /**
   * A change seen below a held directory, and what it tells of the file: `written` (an event of a
   * write to it or of its attributes), or what a look at it found (null: nothing there). A file seen
   * empty waits for its write; the last one written, the directory's shorter quiet time applies.
   */
  saw(path: string, what: 'written' | BigIntStats | null): void {
    const hold = this.covering(path);
    if (hold === undefined) return;
    this.touch(hold);
    if (what !== 'written' && what?.isFile() === true && what.size === 0n) {
      hold.unwritten.add(path);
      return;
    }
    if (!hold.unwritten.delete(path) || hold.unwritten.size > 0) return;
    // Its timer was set for the longer quiet time.
    if (hold.someones) this.arm(hold);
  }

  /**
   * Whether a scan of `path` waits for a held directory at or above it. `changed`: the scan is asked
   * for a change just seen, which restarts the directory's quiet time; an answer about an earlier
   * one (a lookup in the index) does not.
   */
  defer(path: string, changed = true): boolean {
    const hold = this.covering(path);
    if (hold === undefined) return false;
    if (changed) this.touch(hold);
    if (!hold.someones) hold.deferred.add(path);
    return true;
  }

  /** A change below a held directory, judged later (looked up in the index): its quiet time starts again now. */
  changed(path: string): void {
    const hold = this.covering(path);
    if (hold !== undefined) this.touch(hold);
  }

  /** The directory is Syncthing's: the scans asked below it meanwhile are asked now. False: not held itself. */
  release(dir: string): boolean {
    const hold = this.held.get(dir);
    if (hold === undefined) return false;
    this.held.delete(dir);
    clearTimeout(hold.timer);
    for (const path of hold.deferred) this.scan(path);
    return true;
  }

  /** The directory is someone else's: scanned once what lands in it pauses. False: not held itself. */
  confirm(dir: string): boolean {
    const hold = this.held.get(dir);
    if (hold === undefined) return false;
    hold.someones = true;
    hold.deferred.clear();
    this.arm(hold);
    return true;
  }

  /** Whether a directory someone is filling lies at or above `path`: its walk, still to come, covers the path. */
  filling(path: string): boolean {
    return this.covering(path)?.someones === true;
  }

  /** Where the walks stand now: a walk asked later has a larger number (walkedSince). */
  mark(): number {
    return this.walks;
  }

  /**
   * Whether a scan of a directory at or above `path` was asked after `mark`: its walk finds the path
   * as it is then. A lookup that began before it (answered late: the answers to a 10,000-file burst's
   * lookups came behind Syncthing's scans, each of them one more scan) needs none of its own.
   */
  walkedSince(path: string, mark: number): boolean {
    if (this.walked.size === 0) return false;
    for (const at of selfAndParents(path)) if ((this.walked.get(at) ?? -Infinity) > mark) return true;
    return false;
  }

  close(): void {
    for (const hold of this.held.values()) clearTimeout(hold.timer);
    this.held.clear();
    this.walked.clear();
  }

  private touch(hold: Hold): void {
    hold.last = this.now();
  }

  private arm(hold: Hold): void {
    // Confirmed again (looked up once more while it waits): one timer still.
    clearTimeout(hold.timer);
    const now = this.now();
    const quietMs = hold.unwritten.size === 0 ? this.filledQuietMs : this.quietMs;
    const wait = Math.min(hold.last + quietMs, hold.since + this.capMs) - now;
    if (wait <= 0) {
      const { dir } = hold;
      this.held.delete(dir);
      // Deleted first, so that the map's order is the walks' and the oldest go first.
      this.walked.delete(dir);
      this.walked.set(dir, ++this.walks);
      for (const oldest of this.walked.keys()) {
        if (this.walked.size <= WALKS_REMEMBERED) break;
        this.walked.delete(oldest);
      }
      this.scan(dir);
      return;
    }
    hold.timer = setTimeout(() => {
      hold.timer = undefined;
      // Judged after the events that came meanwhile: a timer runs before the I/O that waits behind a
      // busy loop, and a file created then must restart the quiet time, not be walked empty.
      setImmediate(() => {
        if (this.held.get(hold.dir) === hold && hold.timer === undefined) this.arm(hold);
      });
    }, wait);
  }

  /** The held directory at or above a path; a walk up its parents, skipped while nothing is held (every event asks). */
  private covering(path: string): Hold | undefined {
    if (this.held.size === 0) return undefined;
    for (const at of selfAndParents(path)) {
      const hold = this.held.get(at);
      if (hold !== undefined) return hold;
    }
    return undefined;
  }
}

/** A folder-relative path, then each directory above it, up to the top-level one. */
function* selfAndParents(path: string): Generator<string> {
  for (let at = path; ; ) {
    yield at;
    const slash = at.lastIndexOf('/');
    if (slash < 0) return;
    at = at.slice(0, slash);
  }
}

interface Hold {
  dir: string;
  since: number;
  /** The last change below it. */
  last: number;
  /** The scans asked below it while its lookup runs. */
  deferred: Set<string>;
  /** Files below it seen empty and not written to since. */
  unwritten: Set<string>;
  /** Someone else's: scanned as a whole once filled. */
  someones: boolean;
  timer: NodeJS.Timeout | undefined;
}
