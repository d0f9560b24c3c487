/**
 * Timing a write on one machine until it is on the other: the files' directories on the receiving
 * side are watched with fs.watch before the first write, and a file has arrived once it is there at
 * full size. A slow stat poll is only a safety net behind the watch.
 */
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { elapsedMs } from './stats.ts';

/** Only a safety net behind fs.watch; a poll this slow would show as a visibly rounded-up sample. */
export const FALLBACK_POLL_MS = 50;
/** Generous even for a 10 s watcher: a sample this slow means sync is broken, not slow. */
const DEFAULT_TIMEOUT_MS = 60_000;

export type DetectedBy = 'watch' | 'poll';

export interface Transfer {
  /** Where the file is written, and where it must appear. */
  from: string;
  to: string;
  bytes: number;
  /** Puts the file at `from` instead of writing `bytes` random bytes there (a hard link to data made beforehand). */
  put?: (from: string) => Promise<void>;
}

/**
 * Writes every file (one after the other) and resolves when all have arrived: the time from the first
 * write until the last arrival, and `poll` if any arrival was seen by the fallback poll rather than
 * by the watch.
 */
export async function writeAndAwait(transfers: Transfer[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ ms: number; by: DetectedBy }> {
  const pending = new Map(transfers.map((transfer) => [transfer.to, transfer]));
  const lastEventAt = new Map<string, bigint>();
  let latest: bigint | undefined;
  let polled = false;
  let settle!: () => void;
  let fail!: (error: Error) => void;
  const allSeen = new Promise<void>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const arrived = (target: string, at: bigint) => {
    if (!pending.delete(target)) return;
    if (latest === undefined || at > latest) latest = at;
    if (pending.size === 0) settle();
  };
  const check = async (target: string, at: bigint, by: DetectedBy) => {
    const transfer = pending.get(target);
    try {
      if (transfer === undefined || (await stat(target)).size !== transfer.bytes || !pending.has(target)) return;
      if (by === 'watch') return arrived(target, at);
      // The poll's stat and the inotify event can complete in the same loop turn; let the event's
      // callback run first, since its timestamp is the closer one.
      setImmediate(() => {
        if (!pending.has(target)) return;
        const evented = lastEventAt.get(target);
        if (evented === undefined) polled = true;
        arrived(target, evented ?? at);
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') fail(error as Error);
    }
  };
  const watchers: FSWatcher[] = [];
  const poll = setInterval(() => {
    const now = process.hrtime.bigint();
    for (const target of pending.keys()) void check(target, now, 'poll');
  }, FALLBACK_POLL_MS);
  const timeout = setTimeout(() => fail(new Error(`${pending.size} of ${transfers.length} file(s) (${[...pending.keys()][0]}, ...) did not arrive within ${timeoutMs} ms`)), timeoutMs);
  try {
    // Syncthing writes a temporary file and renames it into place: the final name's event is the arrival.
    for (const dir of new Set(transfers.map((transfer) => dirname(transfer.to)))) {
      const watcher = watch(dir, (_event, filename) => {
        if (filename === null) return;
        const target = join(dir, filename);
        if (!pending.has(target)) return;
        const at = process.hrtime.bigint();
        lastEventAt.set(target, at);
        void check(target, at, 'watch');
      });
      watcher.on('error', (error) => fail(error));
      watchers.push(watcher);
    }
    const contents = transfers.map((transfer) => (transfer.put === undefined ? randomBytes(transfer.bytes) : undefined));
    const start = process.hrtime.bigint();
    for (const [i, transfer] of transfers.entries()) await (transfer.put?.(transfer.from) ?? writeFile(transfer.from, contents[i]!));
    await allSeen;
    return { ms: elapsedMs(start, latest), by: polled ? 'poll' : 'watch' };
  } finally {
    for (const watcher of watchers) watcher.close();
    clearInterval(poll);
    clearTimeout(timeout);
  }
}

/** Writes one file named `name` in `writeDir` (1 KB unless told) and resolves when `readDir` has it at full size. */
export function oneSample(writeDir: string, readDir: string, name: string, bytes = 1024): Promise<{ ms: number; by: DetectedBy }> {
  return writeAndAwait([{ from: join(writeDir, name), to: join(readDir, name), bytes }]);
}

/** Files Syncthing has put in place in these directories (its `.syncthing.NAME.tmp` files are not yet there); a missing directory holds none. */
export async function countArrived(dirs: string[]): Promise<number> {
  let count = 0;
  for (const dir of dirs) {
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    // Syncthing writes `.syncthing.NAME.tmp` and renames it: only final names have arrived, in full.
    for (const name of names) if (!name.startsWith('.syncthing.')) count++;
  }
  return count;
}
