/**
 * Turns a stream of changed paths into few targeted scans: the first change in a folder opens a short
 * window, every change inside it joins the same scan, and changes that arrive while a scan runs are
 * collected for the next one. Each folder has at most one scan in flight, so a burst of thousands of
 * writes costs a handful of scans, and a single write is scanned within about one window.
 */

export type ScanFn = (folder: string, subs: string[]) => Promise<void>;

export interface ScanSchedulerOptions {
  windowMs?: number;
  /** Past this many distinct paths one scan of the whole folder is cheaper than listing them. */
  maxPaths?: number;
  onError?: (folder: string, error: unknown) => void;
}

interface FolderQueue {
  pending: Set<string>;
  timer: NodeJS.Timeout | undefined;
  inFlight: boolean;
}

export class ScanScheduler {
  private readonly scan: ScanFn;
  private readonly windowMs: number;
  private readonly maxPaths: number;
  private readonly onError: ((folder: string, error: unknown) => void) | undefined;
  private readonly queues = new Map<string, FolderQueue>();
  private closed = false;

  constructor(scan: ScanFn, options: ScanSchedulerOptions = {}) {
    this.scan = scan;
    this.windowMs = options.windowMs ?? 15;
    this.maxPaths = options.maxPaths ?? 64;
    this.onError = options.onError;
  }

  notify(folder: string, path: string): void {
    if (this.closed) return;
    let queue = this.queues.get(folder);
    if (queue === undefined) {
      queue = { pending: new Set(), timer: undefined, inFlight: false };
      this.queues.set(folder, queue);
    }
    queue.pending.add(path);
    this.schedule(folder, queue);
  }

  close(): void {
    this.closed = true;
    for (const queue of this.queues.values()) clearTimeout(queue.timer);
  }

  private schedule(folder: string, queue: FolderQueue): void {
    if (queue.timer !== undefined || queue.inFlight || queue.pending.size === 0) return;
    queue.timer = setTimeout(() => void this.flush(folder, queue), this.windowMs);
  }

  private async flush(folder: string, queue: FolderQueue): Promise<void> {
    queue.timer = undefined;
    if (this.closed) return;
    const subs = coalescePaths([...queue.pending], this.maxPaths);
    queue.pending.clear();
    queue.inFlight = true;
    try {
      await this.scan(folder, subs);
    } catch (error) {
      this.onError?.(folder, error);
    } finally {
      queue.inFlight = false;
    }
    this.schedule(folder, queue);
  }
}

/**
 * The smallest set of sub-paths covering every changed path: a path inside another one is dropped.
 * An empty result means "scan the whole folder" (too many paths, or the folder root itself changed).
 */
export function coalescePaths(paths: string[], maxPaths: number): string[] {
  if (paths.includes('') || paths.includes('.')) return [];
  const kept = new Set<string>();
  for (const path of [...new Set(paths)].sort((a, b) => a.length - b.length)) {
    const parts = path.split('/');
    const covered = parts.some((_, i) => i > 0 && kept.has(parts.slice(0, i).join('/')));
    if (!covered) kept.add(path);
  }
  return kept.size > maxPaths ? [] : [...kept].sort();
}
