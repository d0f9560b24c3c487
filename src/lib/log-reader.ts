import { open, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { errnoCode } from '../errors.js';
import { sleepUnlessAborted } from './time/sleep.js';

/**
 * Reading what a RotatingLog (rotating-log.ts) wrote: the last lines across its rotated files
 * (`log`, `log.1`, ... `log.N`, newest first), and following it as it grows and rotates.
 */

/** Where the current file ended when it was read: following goes on from there. */
export interface LogEnd {
  ino: number;
  size: number;
}

export async function lastLines(path: string, count: number): Promise<{ lines: string[]; end: LogEnd | undefined }> {
  const current = await readWhole(path);
  let lines = current === undefined ? [] : splitLines(current.text);
  for (let index = 1; lines.length < count; index++) {
    const older = await readWhole(`${path}.${index}`);
    if (older === undefined) break;
    lines = [...splitLines(older.text), ...lines];
  }
  return { lines: count === 0 ? [] : lines.slice(-count), end: current?.end };
}

export interface FollowOptions {
  /**
   * Where reading starts (from lastLines): in that file, also when it was rotated since; without it,
   * at the current file's start.
   */
  from?: LogEnd;
  signal: AbortSignal;
  everyMs?: number;
}

/**
 * Calls `onLine` for each complete line written to `path` from `from` on, until `signal` aborts. A
 * rotation moves the file being read to `path.1`: the open descriptor still reads it to its end; then
 * come the files rotated after it (several, when the log rotated more than once between two looks),
 * then the new file from its start, so no line kept on disk is lost or repeated.
 */
export async function followLog(path: string, onLine: (line: string) => void, { from, signal, everyMs = 250 }: FollowOptions): Promise<void> {
  let handle: FileHandle | undefined;
  let ino = -1;
  let position = 0;
  /** The file last read to its end once it had been rotated away. */
  let finished: number | undefined;
  let decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const line of parts) onLine(line);
  };
  const drain = async (file: FileHandle): Promise<number> => {
    const buffer = Buffer.alloc(64 * 1024);
    let total = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return total;
      position += bytesRead;
      total += bytesRead;
      emit(decoder.write(buffer.subarray(0, bytesRead)));
    }
  };
  /**
   * A rotated file may still get the writes its writer had under way when it moved on (a write stream
   * ends after its queue): it is read until a look a while later finds nothing new.
   */
  const drainRotated = async (file: FileHandle) => {
    await drain(file);
    do await sleepUnlessAborted(Math.max(everyMs, ROTATED_QUIET_MS), signal);
    while ((await drain(file)) > 0 && !signal.aborted);
  };
  /** A file ends with its last line, complete or not (one cut short by a crash). */
  const endOfFile = () => {
    emit(decoder.end());
    if (partial !== '') onLine(partial);
    partial = '';
    decoder = new StringDecoder('utf8');
  };
  /** `path.index` from `offset` to its end; it is then the file last finished. */
  const readRotated = async (index: number, offset: number) => {
    const file = await openIfExists(`${path}.${index}`);
    if (file === undefined) return;
    try {
      position = offset;
      await drainRotated(file);
      finished = (await file.stat()).ino;
    } finally {
      await file.close();
    }
    endOfFile();
  };
  const readRotatedAfter = async (done: number) => {
    const at = await rotatedIndex(path, done);
    for (let index = (at ?? 1) - 1; index >= 1; index--) await readRotated(index, 0);
  };
  try {
    while (!signal.aborted) {
      if (handle === undefined) {
        if (finished !== undefined) await readRotatedAfter(finished);
        handle = await openIfExists(path);
        if (handle !== undefined) {
          ino = (await handle.stat()).ino;
          const start = from;
          from = undefined;
          position = start !== undefined && start.ino === ino ? start.size : 0;
          if (start !== undefined && start.ino !== ino) {
            // Rotated between the read that gave `from` and now: that file goes on from there, then those after it.
            const at = await rotatedIndex(path, start.ino);
            if (at !== undefined) {
              await handle.close();
              handle = undefined;
              await readRotated(at, start.size);
              continue;
            }
          }
        }
      }
      if (handle !== undefined) {
        await drain(handle);
        const now = await statIfExists(path);
        if (now?.ino !== ino) {
          // Rotated: what was written to the old file before the move is read to its end first.
          await drainRotated(handle);
          await handle.close();
          handle = undefined;
          endOfFile();
          finished = ino;
          continue;
        }
        // Replaced in place by something shorter: start again from its top.
        if (now.size < position) position = 0;
      }
      await sleepUnlessAborted(everyMs, signal);
    }
  } finally {
    await handle?.close();
  }
}

/** Which `path.N` the file `ino` is now; undefined when it is none of them (rotated out, or never moved). */
async function rotatedIndex(path: string, ino: number): Promise<number | undefined> {
  for (let index = 1; index <= MAX_ROTATED; index++) {
    const found = await statIfExists(`${path}.${index}`);
    if (found === undefined) return undefined;
    if (found.ino === ino) return index;
  }
  return undefined;
}

const MAX_ROTATED = 100;
/** How long a rotated file must stay unchanged to count as complete. */
const ROTATED_QUIET_MS = 250;

async function readWhole(path: string): Promise<{ text: string; end: LogEnd } | undefined> {
  const handle = await openIfExists(path);
  if (handle === undefined) return undefined;
  try {
    const { ino } = await handle.stat();
    const data = await handle.readFile();
    return { text: data.toString('utf8'), end: { ino, size: data.length } };
  } finally {
    await handle.close();
  }
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

async function statIfExists(path: string): Promise<{ ino: number; size: number } | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}
