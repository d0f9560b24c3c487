import { lstatSync, watch as fsWatch, type BigIntStats, type FSWatcher, type WatchListener } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { errnoCode } from '../errors.js';

export interface TreeWatcher {
  close(): void;
}

export interface TreeWatcherOptions {
  /**
   * Called with the changed path relative to the root, '/'-separated. `entry`: what is at the path as
   * the watcher looked at it on this event (null: nothing), when it did; it looks at each name that
   * appeared or went (to watch a new directory), and the consumer need not look again. `found`: the
   * path was not an event of its own but found by the walk of a directory that appeared: it may have
   * been written before the directory was watched, with no event for its writing seen.
   */
  onChange: (path: string, entry?: BigIntStats | null, found?: boolean) => void;
  onError: (error: unknown) => void;
  /** Names (any path segment) whose changes are not reported, e.g. Syncthing's temporary files. */
  ignore: (name: string) => boolean;
  /** Names that are never directories (Syncthing's temporary files): their appearance needs no look at what they are. */
  notDirectory?: (name: string) => boolean;
  /**
   * Called once, with the first directory left unwatched, when inotify's per-user watch limit is
   * reached (Linux). The watcher goes on with the directories it has, and tries each new one again.
   */
  onLimit?: (dir: string) => void;
  /** fs.watch of one directory; replaced to count watches (bench) or to meet the limit without lowering it (unit tests). */
  watch?: (dir: string, listener: WatchListener<string>) => FSWatcher;
}

/**
 * The inotify watch limit this process meets; undefined where there is none (not Linux). Since Linux
 * 5.11 watches are counted per user namespace, in /proc/sys/user/max_inotify_watches (in the first
 * namespace, the same value as fs.inotify.max_user_watches); older kernels have only the latter.
 */
export async function inotifyWatchLimit(): Promise<number | undefined> {
  for (const path of ['/proc/sys/user/max_inotify_watches', '/proc/sys/fs/inotify/max_user_watches']) {
    try {
      return Number((await readFile(path, 'utf8')).trim());
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }
  return undefined;
}

/**
 * Reports every change below a directory. macOS and Windows watch a tree natively. On Linux, inotify
 * watches one directory at a time, and Node 20's recursive emulation is slow to attach to large trees,
 * so each directory gets its own watcher here, and a directory that appears is watched at once, its
 * existing content reported as changed (it may have been filled before its watcher existed).
 */
export function watchTree(root: string, options: TreeWatcherOptions): TreeWatcher {
  if (process.platform === 'darwin' || process.platform === 'win32') {
    const watcher = fsWatch(root, { recursive: true }, (_event, name) => {
      if (name !== null) report(options, name.split(sep).join('/'));
    });
    watcher.on('error', options.onError);
    return { close: () => watcher.close() };
  }
  return new LinuxTreeWatcher(root, options);
}

function report(options: TreeWatcherOptions, path: string, entry?: BigIntStats | null, found?: boolean): void {
  if (!path.split('/').some(options.ignore)) options.onChange(path, entry, found);
}

class LinuxTreeWatcher implements TreeWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  /**
   * The directories the walk reached, by parent, watched or not (one past the inotify limit may hold
   * watched ones): what goes when a directory is removed or replaced is found without a look at every
   * watch, so an event costs the same in a tree of 5 directories as in one of 5,000.
   */
  private readonly below = new Map<string, Set<string>>();
  private closed = false;
  private limitReported = false;

  constructor(
    private readonly root: string,
    private readonly options: TreeWatcherOptions,
  ) {
    this.addTree(root, false).catch(options.onError);
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.below.clear();
  }

  private async addTree(dir: string, reportContent: boolean): Promise<void> {
    if (this.closed || this.watchers.has(dir)) return;
    let watcher: FSWatcher | undefined;
    try {
      const below = this.relative(dir);
      watcher = (this.options.watch ?? fsWatch)(dir, (event, name) => this.onEvent(dir, below, event, name));
    } catch (error) {
      // The directory went away before we got to it: its removal is reported by its parent.
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
      if (errnoCode(error) !== 'ENOSPC') {
        this.options.onError(error);
        return;
      }
      // Out of inotify watches: this directory is left to Syncthing's own watcher. The walk goes on: a
      // directory further down gets a watch if one was freed meanwhile (a directory removed).
      this.limitReached(dir);
    }
    if (watcher !== undefined) {
      watcher.on('error', () => this.unwatch(dir));
      this.watchers.set(dir, watcher);
    }
    this.known(dir);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return this.dropTree(dir);
      this.options.onError(error);
      return;
    }
    for (const entry of entries) {
      if (this.options.ignore(entry.name)) continue;
      const path = join(dir, entry.name);
      if (reportContent) report(this.options, this.relative(path), undefined, true);
      if (entry.isDirectory()) await this.addTree(path, reportContent);
    }
  }

  /**
   * One event of the watched directory `dir` (`below`: it relative to the root). Run several times for
   * every file of a burst: only the name is checked against `ignore` (no directory above it would be
   * watched if one were ignored), and its paths are put together without path.join's normalising.
   */
  private onEvent(dir: string, below: string, event: string, name: string | Buffer | null): void {
    if (this.closed) return;
    if (name === null) {
      report(this.options, below);
      return;
    }
    const text = name.toString();
    if (this.options.ignore(text)) return;
    const path = below === '' ? text : `${below}/${text}`;
    // inotify tells a created directory from a created file by nothing Node passes on (both are
    // 'rename'); a 'change' is a write to or an attribute of what is there already, never a new directory.
    if (event !== 'rename' || this.options.notDirectory?.(text) === true) {
      this.options.onChange(path);
      return;
    }
    const full = `${dir}${sep}${text}`;
    const entry = this.lookAt(full);
    this.options.onChange(path, entry);
    this.refresh(full, entry);
  }

  /**
   * What is at a path now (null: nothing), or undefined when the look failed (said). Synchronous: of an
   * entry of a local folder it costs microseconds, and the promise form some 30x that in CPU (hand-offs
   * to libuv's pool, measured 175 against 6 us), once for every file of a burst of thousands. A missing
   * entry is an answer, not an exception: building one per deleted file costs more than the stat.
   */
  private lookAt(path: string): BigIntStats | null | undefined {
    try {
      return lstatSync(path, { bigint: true, throwIfNoEntry: false }) ?? null;
    } catch (error) {
      if (errnoCode(error) === 'ENOTDIR') return null;
      this.options.onError(error);
      return undefined;
    }
  }

  /** Re-watches a path that appeared, disappeared or was replaced, by what the look at it found. */
  private refresh(path: string, entry: BigIntStats | null | undefined): void {
    this.dropTree(path);
    if (entry?.isDirectory() === true) this.addTree(path, true).catch(this.options.onError);
  }

  private limitReached(dir: string): void {
    if (this.limitReported) return;
    this.limitReported = true;
    this.options.onLimit?.(this.relative(dir));
  }

  private known(dir: string): void {
    const parent = dirname(dir);
    const siblings = this.below.get(parent);
    if (siblings === undefined) this.below.set(parent, new Set([dir]));
    else siblings.add(dir);
  }

  /** Stops watching a directory and every one below it: it is gone, or something else now has its name. */
  private dropTree(dir: string): void {
    this.unwatch(dir);
    for (const child of this.below.get(dir) ?? []) this.dropTree(child);
    this.below.delete(dir);
    const siblings = this.below.get(dirname(dir));
    siblings?.delete(dir);
    if (siblings?.size === 0) this.below.delete(dirname(dir));
  }

  private unwatch(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }

  private relative(path: string): string {
    // Every path reported lies below the root: a slice, not path.relative's walk of both, once per event.
    const below = path.startsWith(this.root + sep) ? path.slice(this.root.length + 1) : relative(this.root, path);
    return sep === '/' ? below : below.split(sep).join('/');
  }
}
