import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { followLog } from '../lib/log-reader.js';
import { HOLD_BYTES, logFiles, RotatingLog, type RotatingLogOptions } from '../lib/rotating-log.js';
import { errnoCode } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import type { BotsyncEvent, JournaledEvent } from './types.js';

/**
 * The event feed as NDJSON in `<state>/events.ndjson` (rotated by size): the daemon appends every event
 * it reports, `botsync events` prints it, and `--follow` tails it. A file rather than a socket so that
 * a follower survives daemon restarts and can start from what it missed.
 *
 * Each line starts with its `seq`, one more than the line before it. The daemon (one per home) takes
 * the last number from the journal's own tail when it starts: what a reader can have seen is what is
 * in the files, and a line handed to the kernel is there even after kill -9, so no number a reader saw
 * is given again. A number given to an event that never reached the file (a crash while the disk was
 * full) may be given again; nobody saw it. One given up while the disk was full is a gap, which an
 * `events.missed` line tells.
 */

const MAX_BYTES = 10 * 1024 * 1024;
const KEEP = 2;
const CHUNK_BYTES = 64 * 1024;
const WRITE_BYTES = 64 * 1024;

interface PendingLine {
  line: string;
  seq: number;
  standsFor: number;
}
/**
 * The journal is in the order events were reported, and an event's `time` is when it happened: one
 * waiting for a Syncthing lookup or a burst's judgement is reported a little after events that
 * happened later. A search by time reads this much further back than the moment it looks for.
 */
const TIME_SLACK_MS = 10 * 60_000;

export class Journal {
  private readonly log: RotatingLog;
  private seq: number;
  /** seq -> the Syncthing event id it came from, for events not yet in the file. */
  private readonly unwritten = new Map<number, number>();
  /** Lines made since the last write, written together (see put). */
  private pending: PendingLine[] = [];
  /**
   * The most one write takes: lines are written together, and still a small part of what a file or
   * the memory held on a full disk takes, so that a rotation or a drop there concerns a few lines.
   */
  private readonly writeBytes: number;
  /** Events given up while the journal could not be written, not yet told by an `events.missed` line. */
  private missed = 0;

  /**
   * `onProblem` hears that the journal cannot be written (a full disk) and when it can again; nothing
   * is lost meanwhile up to 1 MiB. Past it the oldest lines are given up, and once a line is written
   * again an `events.missed` line says how many. Throws when the journal exists but cannot be read:
   * numbering on from a guess could repeat a number.
   */
  constructor(layout: Layout, onProblem?: (message: string) => void, options: Pick<RotatingLogOptions, 'maxBytes' | 'retryMs' | 'holdBytes'> = {}) {
    this.seq = lastSeq(layout.journalFile);
    this.writeBytes = Math.min(WRITE_BYTES, (options.maxBytes ?? MAX_BYTES) / 16, (options.holdBytes ?? HOLD_BYTES) / 16);
    this.log = new RotatingLog(layout.journalFile, { maxBytes: MAX_BYTES, ...options, keep: KEEP, onProblem });
  }

  /** `sourceId`: the Syncthing event it came from, which the saved event cursor stays behind until the line is in the file. */
  append(event: BotsyncEvent, sourceId?: number): void {
    this.put(event, sourceId, 1);
  }

  /** `standsFor`: how many events are untold when this line is given up (an events.missed line: those it tells). */
  private put(event: BotsyncEvent, sourceId: number | undefined, standsFor: number): void {
    this.seq += 1;
    const seq = this.seq;
    if (sourceId !== undefined) this.unwritten.set(seq, sourceId);
    // seq and time first: they are what a reader looks for in a line.
    const { time, ...rest } = event;
    // The lines appended in one go (a delivery of Syncthing events: thousands in a burst) are one write.
    if (this.pending.length === 0) queueMicrotask(() => this.writePending());
    this.pending.push({ line: `${JSON.stringify({ seq, time, ...rest })}\n`, seq, standsFor });
  }

  private writePending(): void {
    const lines = this.pending;
    this.pending = [];
    let start = 0;
    while (start < lines.length) {
      let end = start + 1;
      let bytes = lines[start]!.line.length;
      while (end < lines.length && bytes + lines[end]!.line.length <= this.writeBytes) bytes += lines[end++]!.line.length;
      this.writeLines(lines.slice(start, end));
      start = end;
    }
  }

  private writeLines(lines: PendingLine[]): void {
    this.log.write(lines.map((entry) => entry.line).join(''), (written) => {
      // Given up or written, the lines no longer hold the event cursor: lost ones are told instead of pinning it for good.
      for (const entry of lines) {
        this.unwritten.delete(entry.seq);
        if (!written) this.missed += entry.standsFor;
      }
      if (written && this.missed > 0) this.tellMissed();
    });
  }

  /** Once the journal takes lines again: the events it gave up, in one line after those it kept. */
  private tellMissed(): void {
    const count = this.missed;
    this.missed = 0;
    this.put({ type: 'events.missed', time: new Date().toISOString(), reason: 'not journaled: the disk was full', count }, undefined, count);
  }

  /** The Syncthing event id of the oldest event not yet in the file (held while the disk is full), or null. */
  heldSince(): number | null {
    let oldest: number | null = null;
    for (const id of this.unwritten.values()) oldest = oldest === null ? id : Math.min(oldest, id);
    return oldest;
  }

  /** Resolves once every event appended so far is in the file, for a reader of it (the summary). */
  flushed(): Promise<void> {
    this.writePending();
    return this.log.flushed();
  }

  close(): Promise<void> {
    this.writePending();
    return this.log.close();
  }
}

export interface JournalQuery {
  /** Only events numbered after this seq. */
  afterSeq?: number;
  /** Only events that happened at or after this moment (milliseconds since the epoch). */
  since?: number;
  /** Only events whose type this accepts. */
  types?: (type: string) => boolean;
}

/** Where a reader of the journal stopped: the file (by inode), the offset after its last complete line, and the last seq it held. */
export interface JournalPosition {
  ino: number | null;
  offset: number;
  seq: number | null;
}

/**
 * The events of the journal (its rotated files too) that the query asks for, oldest first, and where
 * following it continues, so no event is missed or printed twice. The files are read from their end,
 * and only as far back as the query reaches: `--since` near the end reads a chunk, not the history.
 */
export async function readJournal(layout: Layout, query: JournalQuery = {}): Promise<{ events: JournaledEvent[]; position: JournalPosition }> {
  const found: JournaledEvent[] = [];
  const position: JournalPosition = { ino: null, offset: 0, seq: null };
  let below = Number.POSITIVE_INFINITY;
  scanBackward(layout.journalFile, (event) => {
    if (event.seq !== undefined) {
      // A line numbered at or above one already read is a file read twice (rotated while being read).
      if (event.seq >= below) return true;
      below = event.seq;
      position.seq ??= event.seq;
    }
    if (query.afterSeq !== undefined && (event.seq === undefined || event.seq <= query.afterSeq)) return false;
    const time = Date.parse(event.time);
    if (query.since !== undefined && !(time >= query.since - TIME_SLACK_MS)) return false;
    if ((query.since === undefined || time >= query.since) && (query.types?.(event.type) ?? true)) found.push(event);
    return true;
  }, (ino, offset) => {
    position.ino = ino;
    position.offset = offset;
  });
  return { events: found.reverse(), position };
}

/** The last seq in the journal, 0 when it has none. */
function lastSeq(path: string): number {
  let last = 0;
  scanBackward(path, (event) => {
    if (event.seq === undefined) return true;
    last = event.seq;
    return false;
  });
  return last;
}

/**
 * Calls `visit` with each event of the journal's files, newest first, while it returns true. `atEnd`
 * hears the newest file's inode and the offset after its last complete line. Synchronous: the daemon
 * numbers on from the result before it reports anything, and a search near the end is one chunk.
 */
function scanBackward(path: string, visit: (event: JournaledEvent) => boolean, atEnd?: (ino: number, offset: number) => void): void {
  for (const file of logFiles(path, KEEP).reverse()) {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') continue;
      throw error;
    }
    try {
      const { size, ino } = fstatSync(fd);
      const go = scanFileBackward(fd, size, visit, (offset) => (file === path ? atEnd?.(ino, offset) : undefined));
      if (!go) return;
    } finally {
      closeSync(fd);
    }
  }
}

/** One file, newest line first; false once `visit` said stop. A last line without its newline is one being written, not yet an event. */
function scanFileBackward(fd: number, size: number, visit: (event: JournaledEvent) => boolean, atEnd: (offset: number) => void): boolean {
  let end = size;
  // Bytes of a line whose start is in a chunk not read yet.
  let carry = Buffer.alloc(0);
  let seenEnd = false;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK_BYTES);
    const chunk = Buffer.alloc(end - start);
    readSync(fd, chunk, 0, chunk.length, start);
    let bytes = Buffer.concat([chunk, carry]);
    if (!seenEnd) {
      const newline = bytes.lastIndexOf(0x0a);
      if (newline < 0 && start > 0) {
        carry = bytes;
        end = start;
        continue;
      }
      seenEnd = true;
      atEnd(start + newline + 1);
      bytes = bytes.subarray(0, newline + 1);
    }
    // The first line of the chunk may begin in the chunk before: kept for it, unless this is the file's start.
    let lineEnd = bytes.length;
    while (lineEnd > 0) {
      const newline = lineEnd >= 2 ? bytes.lastIndexOf(0x0a, lineEnd - 2) : -1;
      if (newline < 0 && start > 0) break;
      const event = parseLine(bytes.subarray(newline + 1, lineEnd).toString('utf8'));
      lineEnd = newline + 1;
      if (event !== undefined && !visit(event)) return false;
    }
    carry = Buffer.from(bytes.subarray(0, lineEnd));
    end = start;
  }
  if (!seenEnd) atEnd(0);
  return true;
}

/**
 * Calls `onEvent` for each event appended after `from` (as readJournal left it) that `types` accepts,
 * until `signal` aborts. The lines come from the log follower (lib/log-reader.ts), which reads a
 * rotated file until its writer's last lines are in; seq numbers keep an event from being printed twice.
 */
export async function followJournal(
  layout: Layout,
  from: JournalPosition,
  onEvent: (event: JournaledEvent) => void,
  signal: AbortSignal,
  options: { types?: (type: string) => boolean; everyMs?: number } = {},
): Promise<void> {
  let last = from.seq;
  const deliver = (line: string) => {
    const event = parseLine(line);
    if (event === undefined) return;
    if (event.seq !== undefined) {
      if (last !== null && event.seq <= last) return;
      last = event.seq;
    }
    if (options.types?.(event.type) ?? true) onEvent(event);
  };
  await followLog(layout.journalFile, deliver, { from: from.ino === null ? undefined : { ino: from.ino, size: from.offset }, signal, everyMs: options.everyMs });
}

/** A line that does not parse is one the daemon was cut off writing (a crash); it is skipped. */
function parseLine(line: string): JournaledEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    return JSON.parse(line) as JournaledEvent;
  } catch {
    return undefined;
  }
}
