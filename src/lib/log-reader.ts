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
  /** Where reading starts in the current file (from lastLines); without it, at the file's start. */
  from?: LogEnd;
  signal: AbortSignal;
  everyMs?: number;
}

/**
 * Calls `onLine` for each complete line written to `path` from `from` on, until `signal` aborts. A
 * rotation moves the file being read to `path.1`: the open descriptor still reads it to its end, and
 * then the new file from its start, so no line is lost or repeated across it.
 */
export async function followLog(path: string, onLine: (line: string) => void, { from, signal, everyMs = 250 }: FollowOptions): Promise<void> {
  let handle: FileHandle | undefined;
  let ino = -1;
  let position = 0;
  let decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const line of parts) onLine(line);
  };
  const drain = async (file: FileHandle) => {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      emit(decoder.write(buffer.subarray(0, bytesRead)));
    }
  };
  try {
    while (!signal.aborted) {
      if (handle === undefined) {
        handle = await openIfExists(path);
        if (handle !== undefined) {
          ino = (await handle.stat()).ino;
          position = from !== undefined && from.ino === ino ? from.size : 0;
          from = undefined;
        }
      }
      if (handle !== undefined) {
        await drain(handle);
        const now = await statIfExists(path);
        if (now?.ino !== ino) {
          // Rotated: what was written to the old file before the move is read to its end first.
          await drain(handle);
          await handle.close();
          handle = undefined;
          emit(decoder.end());
          if (partial !== '') onLine(partial);
          partial = '';
          decoder = new StringDecoder('utf8');
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
