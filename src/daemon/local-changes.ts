import type { BigIntStats } from 'node:fs';
import type { SyncthingClient } from '../syncthing/client.js';
import { IncomingWrites } from './incoming-writes.js';
import { IndexedEntries } from './indexed-entries.js';
import { NewDirectories } from './new-directories.js';

/**
 * Index lookups in flight at most, per folder. Past it a change is scanned at once, and a new
 * directory gets no hold: its files are scanned as they come.
 */
const MAX_LOOKUPS = 128;
/**
 * How long a lookup may take, queued behind Syncthing's event long polls and scans on the one
 * connection pool included, before the change is scanned without its answer: the changes of a path
 * under lookup, and the scans below a new directory, wait for it.
 */
const LOOKUP_DEADLINE_MS = 1_000;

/**
 * Which changes of a folder Syncthing is asked to scan: everyone's but its own. What IncomingWrites
 * recognises as Syncthing's write is left alone, what it knows to be someone else's is scanned at
 * once, and the rest (a directory, a file no event announced, a file Syncthing wrote moments ago that
 * changed in a way the rules do not know, a name with nothing there) is looked up in Syncthing's
 * index first: what it holds as it is on disk gives a scan nothing to find. While a path is
 * looked up its further events wait for the answer: handled before it, they would be judged without
 * what it says (measured: 1-3 scans of a received 200-file burst in new directories, from the
 * utimensat of a file whose lookup had not answered yet).
 */
export class LocalChanges {
  private readonly incoming: IncomingWrites;
  private readonly indexed: IndexedEntries | undefined;
  /** Paths being looked up in the index: whether an event for them came meanwhile, and what ends the lookup once it is moot. */
  private readonly looking = new Map<string, { again: boolean; moot: AbortController }>();
  private readonly directories: NewDirectories;
  private closed = false;

  constructor(
    root: string,
    private readonly folderId: string,
    /** Undefined where the tree watcher does not report what a new directory holds: a directory's scan is then the only look at it. */
    client: SyncthingClient | undefined,
    private readonly scan: (path: string) => void,
    private readonly say: (message: string) => void,
    options: { incoming?: ConstructorParameters<typeof IncomingWrites>[1]; directories?: ConstructorParameters<typeof NewDirectories>[1] } = {},
  ) {
    this.incoming = new IncomingWrites(root, {
      ...options.incoming,
      othersWrite: (path, error) => {
        if (error !== undefined) this.say(`telling whether Syncthing wrote ${folderId}/${path} failed: ${(error as Error).message}`);
        this.request(path);
      },
    });
    this.directories = new NewDirectories(scan, options.directories);
    this.indexed = client === undefined ? undefined : new IndexedEntries(client, folderId, root);
  }

  /** A change the tree watcher reported (its arguments: the path, what it found there, whether a walk found it). */
  changed(path: string, entry?: BigIntStats | null, found?: boolean): void {
    if (this.closed) return;
    // A new directory's quiet time depends on whether a file below it waits for its write. An event
    // without a look is a write to or an attribute of what is there; a walk's find is looked at below.
    if (entry !== undefined) this.directories.saw(path, entry);
    else if (found !== true) this.directories.saw(path, 'written');
    const lookup = this.looking.get(path);
    if (lookup !== undefined) {
      // Judged once the lookup answers, but a change now: a new directory above waits for quiet from here.
      lookup.again = true;
      this.directories.changed(path);
      return;
    }
    let stats: BigIntStats | undefined;
    let verdict;
    try {
      verdict = this.incoming.judge(path, entry);
      if (verdict === 'syncthing') return;
      stats = this.indexed?.look(path, entry);
      if (found === true) this.directories.saw(path, stats ?? null);
    } catch (error) {
      // Scanned all the same: a scan too many costs little, a change left unscanned waits for Syncthing's watcher.
      this.say(`telling whether Syncthing wrote ${this.folderId}/${path} failed: ${(error as Error).message}`);
      return this.request(path);
    }
    // Below a directory someone is filling, whose walk is to come, a lookup can tell nothing a walk does not.
    if (this.directories.filling(path)) return this.request(path);
    const foundFile = found === true && stats?.isFile() === true;
    // Nothing there: a scan has nothing to find where Syncthing applies a deletion, or where the name
    // was gone only for a moment while Syncthing replaced the file.
    const ask = stats === undefined || stats.isDirectory() || foundFile || (verdict === 'unsure' && stats.isFile());
    // Past the bound (a mass deletion, a tree arriving), a scan, which Syncthing's scheduler coalesces, is cheaper than a lookup each.
    if (this.indexed === undefined || path === '' || !ask || this.looking.size >= MAX_LOOKUPS) return this.request(path);
    if (stats?.isDirectory() === true && (entry !== undefined || found === true)) this.directories.start(path);
    else this.directories.changed(path);
    this.lookUp(this.indexed, path, stats, foundFile).catch((error: unknown) => {
      if (this.closed) return;
      this.say(`judging ${this.folderId}/${path} failed: ${(error as Error).message}`);
      this.someones(path);
    });
  }

  close(): void {
    this.closed = true;
    this.incoming.close();
    this.directories.close();
  }

  /**
   * Someone else's change: scanned, a new directory once it is filled. `changed`: as for request;
   * `since`: the walks' mark when the lookup that tells so began, if one did (a walk of a directory
   * above asked since then covers the path).
   */
  private someones(path: string, changed = true, since?: number): void {
    if (this.directories.confirm(path)) return this.mootBelow(path);
    if (!changed && since !== undefined && this.directories.walkedSince(path, since)) return;
    this.request(path, changed);
  }

  /**
   * A scan of the path, unless it waits for a new directory being filled. `changed` false: the answer
   * of a lookup, whose change was counted when it was seen (a thousand files found in new directories
   * answered one after the other kept their directories' scans waiting ~100 ms past the last write).
   */
  private request(path: string, changed = true): void {
    if (!this.directories.defer(path, changed)) this.scan(path);
  }

  /**
   * Ends the lookups below a directory someone is filling: its walk covers what they would tell, and
   * their requests and answers take the daemon's time and Syncthing's connections while its scan
   * waits (measured, with the lookups below it not asked either: A's scan of a 1,000-file burst in
   * 100 new directories began 37-39 ms after the last write, 54-57 ms with them).
   */
  private mootBelow(dir: string): void {
    const prefix = `${dir}/`;
    for (const [path, lookup] of this.looking) if (path.startsWith(prefix)) lookup.moot.abort();
  }

  private async lookUp(indexed: IndexedEntries, path: string, stats: BigIntStats | undefined, arriving: boolean): Promise<void> {
    const lookup = { again: false, moot: new AbortController() };
    const since = this.directories.mark();
    this.looking.set(path, lookup);
    let held;
    const deadline = AbortSignal.timeout(LOOKUP_DEADLINE_MS);
    try {
      held = await indexed.holds(path, stats, arriving, AbortSignal.any([deadline, lookup.moot.signal]));
    } catch (error) {
      // Past the deadline the answer is a scan, as for any lookup that failed; only a failure is news.
      if (!deadline.aborted && !lookup.moot.signal.aborted) this.say(`looking up ${this.folderId}/${path} in Syncthing's index failed: ${(error as Error).message}`);
    } finally {
      this.looking.delete(path);
    }
    // Moot: the walk of the directory above, still to come, covers it and what changed meanwhile.
    if (this.closed || lookup.moot.signal.aborted) return;
    if (held === undefined) {
      // Gone when looked at, a file there again now (1.19 moves the old version to .stversions, then
      // renames the new one in): judged as what is there. A directory back in place may not hold what
      // the one that went did: scanned.
      if (stats === undefined && indexed.look(path)?.isFile() === true) return this.changed(path);
      // Not held, or the lookup failed: a scan, which also covers what changed meanwhile (none when
      // nothing did and a walk of a new directory above, asked since the lookup began, covers it).
      return this.someones(path, lookup.again, since);
    }
    this.directories.release(path);
    if (stats?.isFile() === true) this.incoming.adopt(path, stats, held === 'indexed');
    // What changed meanwhile is judged now, against what the index said.
    if (lookup.again) this.changed(path);
  }
}
