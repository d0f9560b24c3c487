import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Header, Pax } from 'tar';
import { BotsyncError, errnoCode } from '../errors.js';
import { globToRegExp } from '../lib/glob.js';

/**
 * The snapshot's plaintext: a POSIX (pax) tar of the home's folders, produced by reading it like a
 * file: `read(into, offset, length)` fills the caller's buffer. File contents are read straight into
 * that buffer, so a backup allocates nothing per byte and reads a megabyte per system call; node-tar's
 * packer allocates a fresh buffer for every read, which on its own made memory grow with the size of
 * the backup. Headers come from node-tar's Header and Pax, so the format is the one restores parse.
 *
 * Modes, mtimes, empty directories and symlinks are kept (symlinks as links, never followed). Other
 * kinds of file (sockets, FIFOs, devices) are left out, as Syncthing leaves them out. A live folder
 * changes while it is read: an entry gone by the time it is reached is skipped, a file that grew is
 * cut at the size it had when it was opened, and one that shrank fails the backup. A file replaced
 * by a rename (as Syncthing writes) is read whole, old or new.
 */

export interface TarSource {
  /** The directory the paths are relative to. */
  cwd: string;
  paths: string[];
  /** Directories anywhere, each archived under a path of its own (`folders/ID` for an added folder). */
  mounted?: { path: string; dir: string }[];
  /** Glob patterns ('*' within a name, '**' across directories) of paths left out. */
  exclude: string[];
  /** Files made in memory, written after the folders (mode 0600). */
  extra?: { path: string; content: Buffer }[];
}

const BLOCK = 512;
const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;
/** Two zero blocks end a tar archive. */
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
/** Syncthing's temporary and versions files are its own business, not the user's data. */
const SYNCTHING_OWN = /(^|\/)(\.syncthing\.[^/]*\.tmp|~syncthing~[^/]*\.tmp|\.stversions)(\/|$)/;

/** An entry waiting its turn: top-level paths must exist, anything found inside a folder may vanish. */
interface Queued {
  /** In the archive. */
  path: string;
  /** On disk (none for a file made in memory). */
  disk: string;
  topLevel: boolean;
  /** The content of a file made in memory rather than read from disk. */
  content?: Buffer;
}

interface OpenFile {
  path: string;
  handle: FileHandle;
  position: number;
  /** Content bytes still to read, then zero padding to the block boundary. */
  remaining: number;
  padding: number;
}

export class TarWriter {
  readonly #excluded: RegExp[];
  /** Depth-first, each directory's children in name order, so archives of the same tree are identical. */
  readonly #queue: Queued[];
  /** Header bytes (and padding) produced but not yet handed out. */
  #pending: Buffer = Buffer.alloc(0);
  #file: OpenFile | undefined;
  #ended = false;
  #closed = false;
  #entries = 0;

  constructor(source: TarSource) {
    this.#excluded = source.exclude.map((glob) => globToRegExp(glob, { within: true }));
    const extra = (source.extra ?? []).map(({ path, content }): Queued => ({ path, disk: '', topLevel: true, content }));
    const mounted = (source.mounted ?? []).map(({ path, dir }): Queued => ({ path, disk: dir, topLevel: true }));
    this.#queue = [...source.paths.map((path): Queued => ({ path, disk: join(source.cwd, path), topLevel: true })), ...mounted, ...extra].reverse();
  }

  /** Entries written so far; once read() has returned 0, all of them. */
  get entries(): number {
    return this.#entries;
  }

  /** Fills up to `length` bytes of `into` from `offset`; 0 once the archive has ended (or was closed). */
  async read(into: Buffer, offset: number, length: number): Promise<number> {
    let written = 0;
    while (written < length && !this.#closed) {
      if (this.#pending.length > 0) {
        const count = this.#pending.copy(into, offset + written);
        this.#pending = this.#pending.subarray(count);
        written += count;
      } else if (this.#file !== undefined) {
        written += await this.#readFile(this.#file, into, offset + written, length - written);
      } else if (!(await this.#nextEntry())) {
        if (!this.#ended) {
          this.#ended = true;
          this.#pending = END_OF_ARCHIVE;
        } else break;
      }
    }
    return written;
  }

  /**
   * Stops early (a failed backup): closes the file being read, if any. A read still in progress
   * stops at its next step and closes whatever it opened meanwhile.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#closeFile();
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.handle.close();
  }

  async #readFile(file: OpenFile, into: Buffer, offset: number, length: number): Promise<number> {
    if (file.remaining > 0) {
      const { bytesRead } = await file.handle.read(into, offset, Math.min(length, file.remaining), file.position);
      if (bytesRead === 0) {
        await this.#closeFile();
        throw new BotsyncError('BACKUP_FAILED', `${file.path} shrank while it was being backed up.`, { hint: 'Run the backup again once it is no longer being written.' });
      }
      file.position += bytesRead;
      file.remaining -= bytesRead;
      return bytesRead;
    }
    await this.#closeFile();
    this.#pending = Buffer.alloc(file.padding);
    return 0;
  }

  /** Queues the next entry's header (and opens its content); false when there are none left. */
  async #nextEntry(): Promise<boolean> {
    for (let next = this.#queue.pop(); next !== undefined; next = this.#queue.pop()) {
      if (next.content !== undefined) {
        const size = next.content.length;
        this.#header(next.path, 'File', { mode: 0o600, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, size, mtime: new Date() });
        this.#pending = Buffer.concat([this.#pending, next.content, Buffer.alloc(padding(size))]);
        this.#entries += 1;
        return true;
      }
      if (this.#isExcluded(next.path)) continue;
      const absolute = next.disk;
      const stat = await vanishable(lstat(absolute), next.topLevel);
      if (stat === undefined) continue;
      if (stat.isDirectory()) {
        const names = await vanishable(readdir(absolute), next.topLevel);
        if (names === undefined) continue;
        for (const name of names.sort().reverse()) this.#queue.push({ path: `${next.path}/${name}`, disk: join(absolute, name), topLevel: false });
        this.#header(`${next.path}/`, 'Directory', stat);
      } else if (stat.isSymbolicLink()) {
        const target = await vanishable(readlink(absolute), next.topLevel);
        if (target === undefined) continue;
        this.#header(next.path, 'SymbolicLink', stat, target);
      } else if (stat.isFile()) {
        const file = await this.#openFile(absolute, next.topLevel);
        if (file === undefined) continue;
        this.#header(next.path, 'File', file.stat);
        this.#file = { path: next.path, handle: file.handle, position: 0, remaining: file.stat.size, padding: padding(file.stat.size) };
      } else continue;
      this.#entries += 1;
      return true;
    }
    return false;
  }

  /**
   * Opens a regular file for its content, described by the open handle rather than by the lstat before:
   * Syncthing replaces files by renaming new ones over them, and header and content must come from
   * the same file. Never follows a link that took its place, never blocks on a FIFO that did.
   */
  async #openFile(absolute: string, topLevel: boolean): Promise<{ handle: FileHandle; stat: Stats } | undefined> {
    const handle = await vanishable(open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK), topLevel);
    if (handle === undefined) return undefined;
    const stat = await handle.stat();
    if (this.#closed || !stat.isFile()) {
      await handle.close();
      return undefined;
    }
    return { handle, stat };
  }

  #header(path: string, type: 'File' | 'Directory' | 'SymbolicLink', stat: Pick<Stats, 'mode' | 'uid' | 'gid' | 'size' | 'mtime'>, linkpath?: string): void {
    const fields = {
      path,
      linkpath,
      type,
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      size: type === 'File' ? stat.size : 0,
      mtime: stat.mtime,
    };
    const header = new Header(fields);
    // A long or non-ASCII path, or a value too large for ustar, goes in a pax header before it.
    const needsPax = header.encode();
    this.#pending = needsPax ? Buffer.concat([new Pax(fields).encode(), header.block!]) : header.block!;
  }

  #isExcluded(path: string): boolean {
    return SYNCTHING_OWN.test(path) || this.#excluded.some((pattern) => pattern.test(path));
  }
}

/**
 * The result, or undefined when the entry vanished before it was reached, or became a link (ELOOP
 * from O_NOFOLLOW): the next backup sees it as it is then. A top-level folder must be there.
 */
async function vanishable<T>(work: Promise<T>, topLevel: boolean): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if (!topLevel && (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ELOOP')) return undefined;
    throw error;
  }
}
