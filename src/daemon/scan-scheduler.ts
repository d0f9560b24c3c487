import { backoffDelay } from '../lib/time/backoff.js';
import { systemClock, type Clock } from '../lib/time/clock.js';

/**
 * Turns a stream of changed paths into few targeted scans: the first change in a folder opens a short
 * window, every change inside it joins the same scan, and changes that arrive while a scan runs are
 * collected for the next one. Each folder has at most one scan in flight, so a burst of thousands of
 * writes costs a handful of scans, and a single write is scanned within about one window.
 *
 * A burst goes on while changes keep coming in the middle of scans: the first part of it is scanned at
 * once, as any change is (the receiver starts pulling), and what comes during or just after that scan
 * is held until the writes pause, for a while at most: 1 s, twice as long for each hold in a row, up
 * to 4 s (by then the receiver has seconds of pulling to do). A scan taken in the middle of a burst walks the
 * same directories again for the next part, and each walk costs the sender's Syncthing CPU and sends
 * the receiver one more index piece. Measured for 10,000 files written at once: 7 scans of 5.8 s in
 * all without the hold, against one of 2.1 s for a plain 1 s watcher.
 */

export type ScanFn = (folder: string, subs: string[]) => Promise<void>;

export interface ScanSchedulerOptions {
  windowMs?: number;
  /** Sub-paths per scan at most: past it, changed paths are merged into their parent directories. */
  maxPaths?: number;
  /** A burst is scanned once no change came for this long... */
  quietMs?: number;
  /** ...or once its first change waited this long (doubled for each hold in a row, to 4x), whichever comes first. */
  holdMs?: number;
  clock?: Pick<Clock, 'now'>;
  onError?: (folder: string, error: unknown) => void;
}

interface FolderQueue {
  pending: Set<string>;
  /** When the oldest of `pending` came, and the newest. */
  firstAt: number;
  lastAt: number;
  /** When the last scan ended. */
  scannedAt: number;
  /** Scans in a row that were held, in one burst. */
  held: number;
  timer: NodeJS.Timeout | undefined;
  inFlight: boolean;
}

export class ScanScheduler {
  private readonly scan: ScanFn;
  private readonly windowMs: number;
  private readonly maxPaths: number;
  private readonly quietMs: number;
  private readonly holdMs: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly onError: ((folder: string, error: unknown) => void) | undefined;
  private readonly queues = new Map<string, FolderQueue>();
  private closed = false;

  constructor(scan: ScanFn, options: ScanSchedulerOptions = {}) {
    this.scan = scan;
    this.windowMs = options.windowMs ?? 15;
    this.maxPaths = options.maxPaths ?? 64;
    this.quietMs = options.quietMs ?? 50;
    this.holdMs = options.holdMs ?? 1_000;
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError;
  }

  notify(folder: string, path: string): void {
    if (this.closed) return;
    const now = this.clock.now();
    let queue = this.queues.get(folder);
    if (queue === undefined) {
      queue = { pending: new Set(), firstAt: now, lastAt: now, scannedAt: -Infinity, held: 0, timer: undefined, inFlight: false };
      this.queues.set(folder, queue);
    }
    if (queue.pending.size === 0) queue.firstAt = now;
    queue.lastAt = now;
    queue.pending.add(path);
    this.schedule(folder, queue);
  }

  close(): void {
    this.closed = true;
    for (const queue of this.queues.values()) clearTimeout(queue.timer);
  }

  private schedule(folder: string, queue: FolderQueue, delayMs = this.windowMs): void {
    if (queue.timer !== undefined || queue.inFlight || queue.pending.size === 0) return;
    queue.timer = setTimeout(() => void this.flush(folder, queue), delayMs);
  }

  /** Whether the pending changes go on a burst: more than a handful, begun during or just after a scan. */
  private continuesBurst(queue: FolderQueue): boolean {
    return queue.pending.size > this.maxPaths / 4 && queue.firstAt - queue.scannedAt <= this.quietMs;
  }

  /** How much longer a burst's pending changes wait: until its writes pause, for a while at most. */
  private holdFor(queue: FolderQueue): number {
    const longest = backoffDelay({ initialMs: this.holdMs, maxMs: 4 * this.holdMs }, queue.held);
    return Math.max(0, Math.min(queue.lastAt + this.quietMs, queue.firstAt + longest) - this.clock.now());
  }

  private async flush(folder: string, queue: FolderQueue): Promise<void> {
    queue.timer = undefined;
    if (this.closed) return;
    if (!this.continuesBurst(queue)) queue.held = 0;
    else {
      const hold = this.holdFor(queue);
      if (hold > 0) return this.schedule(folder, queue, hold);
      queue.held++;
    }
    const subs = coalescePaths(queue.pending, this.maxPaths);
    queue.pending.clear();
    queue.inFlight = true;
    try {
      await this.scan(folder, subs);
    } catch (error) {
      this.onError?.(folder, error);
    } finally {
      queue.inFlight = false;
      queue.scannedAt = this.clock.now();
    }
    this.schedule(folder, queue);
  }
}

/**
 * Files of one directory past this many are scanned as that directory: one walk of it costs less
 * than as many sub-path scans (Syncthing walks and checks its index once per sub-path).
 */
const CROWDED_DIR = 8;

/**
 * Sub-paths one scan may list, and their length in all, before lone paths are lifted to their parents.
 * A sub-path costs Syncthing one walk start and one look in its index, so a thousand of them cost
 * little, but a parent may hold a whole tree: 100 files changed in 100 directories of a 100,000-file
 * folder, lifted to the folder, were a 4 s scan of all of it (bench/big-tree.ts). The length keeps the
 * request line (every sub-path is in it) far below what Syncthing's HTTP server reads (1 MB).
 */
const MAX_SUBS = 1024;
const MAX_SUBS_CHARS = 64 * 1024;

/**
 * The sub-paths to scan for a set of changed paths; an empty result means the whole folder (the root
 * itself changed, or the changes are spread over more top-level entries than a scan may list). A
 * path inside another is dropped; the changed files of a crowded directory become the directory;
 * while more than `maxPaths` are left, less crowded directories are merged too. Paths alone in their
 * directory stay as they are up to `maxSubs`; past it the deepest become their parents. A burst in
 * one subtree is one scan of that subtree, never of the whole folder.
 */
export function coalescePaths(paths: Iterable<string>, maxPaths: number, maxSubs = MAX_SUBS): string[] {
  const kept = outermost(paths);
  if (kept === undefined) return [];
  // Once only: a directory of changed subdirectories is not walked whole (its other subtrees may be
  // large), unless the limit asks for it below. A handful of paths is scanned as it is: the directory
  // may hold 50,000 files, and a few sub-paths cost little.
  if (kept.size > maxPaths / 4) mergeCrowded(kept, CROWDED_DIR);
  // Over the limit, directories with fewer changed entries are merged too, the most crowded first.
  for (let crowd = CROWDED_DIR; kept.size > maxPaths && crowd >= 2; crowd--) while (kept.size > maxPaths && mergeCrowded(kept, crowd));
  while (kept.size > maxSubs || charsOf(kept) > MAX_SUBS_CHARS) {
    let deepest = 0;
    for (const path of kept) deepest = Math.max(deepest, depthOf(path));
    if (deepest === 1) return [];
    for (const path of [...kept]) {
      if (depthOf(path) < deepest) continue;
      kept.delete(path);
      kept.add(parentOf(path));
    }
    dropCovered(kept);
  }
  return [...kept].sort();
}

function charsOf(paths: Set<string>): number {
  let chars = 0;
  for (const path of paths) chars += path.length;
  return chars;
}

/** The paths, without those inside another one; undefined if the root itself is among them. */
function outermost(paths: Iterable<string>): Set<string> | undefined {
  const kept = new Set<string>();
  for (const path of paths) {
    if (path === '' || path === '.') return undefined;
    kept.add(path);
  }
  dropCovered(kept);
  return kept;
}

function dropCovered(kept: Set<string>): void {
  for (const path of kept) {
    for (let parent = parentOf(path); parent !== ''; parent = parentOf(parent)) {
      if (kept.has(parent)) {
        kept.delete(path);
        break;
      }
    }
  }
}

/** Replaces the entries of each directory holding `crowd` or more (the folder root aside) by the directory; whether any was. */
function mergeCrowded(kept: Set<string>, crowd: number): boolean {
  const children = new Map<string, number>();
  for (const path of kept) {
    const parent = parentOf(path);
    if (parent !== '') children.set(parent, (children.get(parent) ?? 0) + 1);
  }
  const crowded = new Set([...children].filter(([, count]) => count >= crowd).map(([parent]) => parent));
  if (crowded.size === 0) return false;
  for (const path of kept) if (crowded.has(parentOf(path))) kept.delete(path);
  for (const parent of crowded) kept.add(parent);
  dropCovered(kept);
  return true;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

function depthOf(path: string): number {
  let depth = 1;
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) depth++;
  return depth;
}
