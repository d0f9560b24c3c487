import { open, readFile, stat } from 'node:fs/promises';
import { RotatingLog } from '../lib/rotating-log.js';
import { errnoCode } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import type { BotsyncEvent } from './types.js';
import { sleepUnlessAborted } from '../lib/time/sleep.js';

/**
 * The event feed as NDJSON in `<state>/events.ndjson` (rotated by size): the daemon appends every event
 * it reports, `botsync events` prints it, and `--follow` tails it. A file rather than a socket so that
 * a follower survives daemon restarts and can start from what it missed.
 */

export class Journal {
  private readonly log: RotatingLog;

  /** `onProblem` hears that the journal cannot be written (a full disk) and when it can again; nothing is lost meanwhile up to 1 MiB. */
  constructor(layout: Layout, onProblem?: (message: string) => void) {
    this.log = new RotatingLog(layout.journalFile, { maxBytes: 10 * 1024 * 1024, keep: 2, onProblem });
  }

  append(event: BotsyncEvent): void {
    this.log.write(`${JSON.stringify(event)}\n`);
  }

  /** Resolves once every event appended so far is in the file, for a reader of it (the summary). */
  flushed(): Promise<void> {
    return this.log.flushed();
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

/**
 * Every complete event in the journal now, oldest first, and the byte offset after the last complete
 * line: where following continues, so no event is missed or printed twice.
 */
export async function readJournal(layout: Layout): Promise<{ events: BotsyncEvent[]; offset: number }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(layout.journalFile);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { events: [], offset: 0 };
    throw error;
  }
  const complete = bytes.lastIndexOf(0x0a) + 1;
  const events = bytes.subarray(0, complete).toString('utf8').split('\n').map(parseLine).filter((event) => event !== undefined);
  return { events, offset: complete };
}

/**
 * Calls `onEvent` for each event appended after `from` bytes, until `signal` aborts. Follows the file
 * across rotation (it shrinks or is replaced: start again from its beginning).
 */
export async function followJournal(layout: Layout, from: number, onEvent: (event: BotsyncEvent) => void, signal: AbortSignal, everyMs = 100): Promise<void> {
  const path = layout.journalFile;
  let offset = from;
  let partial = '';
  while (!signal.aborted) {
    const size = await stat(path).then((s) => s.size, (error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return 0;
      throw error;
    });
    if (size < offset) {
      offset = 0;
      partial = '';
    }
    if (size > offset) {
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        offset = size;
        const lines = (partial + buffer.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const event = parseLine(line);
          if (event !== undefined) onEvent(event);
        }
      } finally {
        await handle.close();
      }
    }
    // The one abortable sleep: it removes its abort listener when it wakes, where a listener added per
    // turn here used to pile up on the signal for as long as `events --follow` ran.
    await sleepUnlessAborted(everyMs, signal);
  }
}

/** A line that does not parse is one the daemon was cut off writing (a crash); it is skipped. */
function parseLine(line: string): BotsyncEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    return JSON.parse(line) as BotsyncEvent;
  } catch {
    return undefined;
  }
}
