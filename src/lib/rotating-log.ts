import { appendFileSync, closeSync, createWriteStream, mkdirSync, openSync, readSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { errnoCode } from '../errors.js';
import { redactSecrets } from './redact.js';

export interface RotatingLogOptions {
  maxBytes?: number;
  keep?: number;
  /** Strings replaced by [redacted] before anything reaches the disk. */
  secrets?: string[];
  /**
   * Hears, once per outage, that the file cannot be written (a full disk), and again when it can; it
   * must not throw (it runs from stream callbacks and timers). It may write to this same log: while the
   * log is failing that text is held like any other.
   */
  onProblem?: (message: string) => void;
  /** How often a failing file is tried again. */
  retryMs?: number;
  /** How much text is held in memory while the file cannot be written; the oldest is given up first past it. */
  holdBytes?: number;
}

const RETRY_MS = 5_000;
export const HOLD_BYTES = 1024 * 1024;

/**
 * An append-only log file that rotates by size (log, log.1, ... log.N) and never writes a secret. A
 * write never throws and never leaves an unhandled stream error: while the file cannot be written (a
 * full disk), what is written is held in memory (up to holdBytes) and written, in order, once a retry
 * succeeds. The file is opened on the first write, so making a log has no effect to undo.
 */
export class RotatingLog {
  private stream: WriteStream | undefined;
  private size = 0;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly secrets: string[];
  private readonly retryMs: number;
  private readonly holdBytes: number;
  /** Text not yet written, each with what hears whether it was (write's onWritten). */
  private held: { text: string; done?: (written: boolean) => void }[] = [];
  private heldBytes = 0;
  /** Writes given up (held text past holdBytes) since the outage began; told when it ends. */
  private dropped = 0;
  /** Set from the first failed write until a retry has written everything held. */
  private failing: Error | undefined;
  private outageReported = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly options: RotatingLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.keep = options.keep ?? 3;
    this.secrets = (options.secrets ?? []).filter((secret) => secret.length > 0);
    this.retryMs = options.retryMs ?? RETRY_MS;
    this.holdBytes = options.holdBytes ?? HOLD_BYTES;
  }

  /** A secret made after the log was opened (a replaced API key, a new webhook token) is redacted from then on. */
  redact(secret: string): void {
    if (secret.length > 0 && !this.secrets.includes(secret)) this.secrets.push(secret);
  }

  /** `text` as this log would write it: every secret it knows replaced by [redacted]. */
  redacted(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  /**
   * `onWritten` runs once for each write: with true once the text is in the file (handed to the kernel,
   * so it survives the process being killed), also when that happens on a retry; with false once it is
   * given up (held past holdBytes, written after close, or lost at close), so a caller waiting for it
   * is never left waiting.
   */
  write(text: string, onWritten?: (written: boolean) => void): void {
    if (this.closed) return onWritten?.(false);
    this.put(this.redacted(text), onWritten);
  }

  /** Resolves once what was written so far reached the file (or is held, while the file cannot be written). */
  flushed(): Promise<void> {
    return new Promise((resolve) => this.afterQueued(() => resolve()));
  }

  line(message: string): void {
    this.write(`${new Date().toISOString()} ${message}\n`);
  }

  /** Flushes and closes the file; text still held is given one last synchronous try. */
  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.held.length > 0) this.lastTry();
    const stream = this.stream;
    this.stream = undefined;
    if (stream === undefined || stream.destroyed) return Promise.resolve();
    // The callback runs on finish and on error alike; the error itself goes to the stream's listener.
    return new Promise((resolve) => stream.end(() => resolve()));
  }

  private put(text: string, onWritten?: (written: boolean) => void): void {
    if (this.failing !== undefined) this.hold(text, onWritten);
    else this.append(text, onWritten);
  }

  /** Runs `then` once every write queued so far reported back (false: the stream failed), at once when none is open. */
  private afterQueued(then: (written: boolean) => void): void {
    const stream = this.stream;
    if (stream === undefined || stream.destroyed) return then(false);
    // Writes complete in order: the callback of an empty one runs after every write before it.
    stream.write('', (error) => then(error === null || error === undefined));
  }

  private append(text: string, onWritten?: (written: boolean) => void): void {
    let stream: WriteStream;
    try {
      stream = this.stream ?? this.open();
      if (this.size > 0 && this.size + Buffer.byteLength(text) > this.maxBytes) stream = this.rotate(stream);
    } catch (error) {
      this.hold(text, onWritten);
      this.fail(error as Error);
      return;
    }
    this.size += Buffer.byteLength(text);
    stream.write(text, (error) => {
      if (error === null || error === undefined) return onWritten?.(true);
      // Closed: nothing retries it.
      if (this.closed) return onWritten?.(false);
      // Not written: kept for the retry, in the order the failed writes report back.
      this.hold(text, onWritten);
      if (stream === this.stream) this.fail(error);
    });
  }

  private open(): WriteStream {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.size = currentSize(this.path);
    // Opened here, not by the stream: a stream opens its file later, so a rotation in between would move
    // the file from under it and its lines would land in the new file, after lines written later. Lines
    // written to a descriptor stay in the file it was opened on, wherever a rotation moves it.
    const stream = createWriteStream(this.path, { fd: openSync(this.path, 'a', 0o600) });
    stream.on('error', (error) => {
      if (stream === this.stream) this.fail(error);
    });
    this.stream = stream;
    // A write cut short (a full disk, a process killed mid-write) left half a line: the next entry starts on a line of its own.
    if (this.size > 0 && endsMidLine(this.path)) {
      stream.write('\n');
      this.size += 1;
    }
    return stream;
  }

  private rotate(stream: WriteStream): WriteStream {
    stream.end();
    this.stream = undefined;
    for (let index = this.keep - 1; index >= 1; index--) moveIfExists(`${this.path}.${index}`, `${this.path}.${index + 1}`);
    moveIfExists(this.path, `${this.path}.1`);
    return this.open();
  }

  private hold(text: string, done?: (written: boolean) => void): void {
    this.held.push({ text, done });
    this.heldBytes += Buffer.byteLength(text);
    while (this.heldBytes > this.holdBytes && this.held.length > 1) {
      const oldest = this.held.shift()!;
      this.heldBytes -= Buffer.byteLength(oldest.text);
      this.dropped += 1;
      oldest.done?.(false);
    }
  }

  private fail(error: Error): void {
    if (this.failing !== undefined || this.closed) return;
    this.failing = error;
    this.stream?.destroy();
    this.stream = undefined;
    if (!this.outageReported) {
      this.outageReported = true;
      this.options.onProblem?.(`cannot write ${this.path} (${error.message}); keeping what is written in memory and trying again every ${this.retryMs / 1000} s`);
    }
    this.retryTimer = setTimeout(() => this.retry(), this.retryMs);
    this.retryTimer.unref();
  }

  private retry(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    const held = this.takeHeld();
    this.failing = undefined;
    // Each entry written on its own: one that fails again is held again with its own callback, so a
    // later drop gives up only that one. A write cut short by the failure may have left half a line:
    // open() starts what follows on a line of its own.
    for (const entry of held) this.put(entry.text, entry.done);
    this.afterQueued((written) => {
      if (!written || this.failing !== undefined || !this.outageReported) return;
      this.outageReported = false;
      const dropped = this.dropped;
      this.dropped = 0;
      this.options.onProblem?.(`${this.path} is writable again${dropped > 0 ? `; ${dropped} writes were dropped meanwhile` : ''}`);
    });
  }

  private lastTry(): void {
    const held = this.takeHeld();
    let lost: Error | undefined;
    try {
      appendFileSync(this.path, (endsMidLine(this.path) ? '\n' : '') + held.map((entry) => entry.text).join(''), { mode: 0o600 });
    } catch (error) {
      lost = error as Error;
      this.options.onProblem?.(`closing ${this.path} lost ${held.length + this.dropped} writes it could not make: ${lost.message}`);
    }
    for (const entry of held) entry.done?.(lost === undefined);
  }

  private takeHeld(): { text: string; done?: (written: boolean) => void }[] {
    const taken = this.held;
    this.held = [];
    this.heldBytes = 0;
    return taken;
  }
}

function currentSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 0;
    throw error;
  }
}

/** Whether the file's last byte is not a newline (false for a missing or empty file). */
function endsMidLine(path: string): boolean {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    if (size === 0) return false;
    fd = openSync(path, 'r');
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    // Unreadable: a spare newline costs an empty line, a missing one could join two entries.
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function moveIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
}

/** The files of a log kept with `keep` rotated ones, oldest first (`log.N` ... `log.1`, `log`). */
export function logFiles(path: string, keep: number): string[] {
  return [...Array.from({ length: keep }, (_, index) => `${path}.${keep - index}`), path];
}
