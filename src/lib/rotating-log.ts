import { createWriteStream, mkdirSync, openSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { errnoCode } from '../errors.js';

export interface RotatingLogOptions {
  maxBytes?: number;
  keep?: number;
  /** Strings replaced by [redacted] before anything reaches the disk. */
  secrets?: string[];
}

/** An append-only log file that rotates by size (log, log.1, ... log.N) and never writes a secret. */
export class RotatingLog {
  private stream: WriteStream;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly secrets: string[];

  constructor(
    private readonly path: string,
    options: RotatingLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.keep = options.keep ?? 3;
    this.secrets = (options.secrets ?? []).filter((secret) => secret.length > 0);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.size = currentSize(path);
    this.stream = this.open();
  }

  /** A secret made after the log was opened (a replaced API key) is redacted from then on. */
  redact(secret: string): void {
    if (secret.length > 0) this.secrets.push(secret);
  }

  write(text: string): void {
    let clean = text;
    for (const secret of this.secrets) clean = clean.split(secret).join('[redacted]');
    if (this.size + clean.length > this.maxBytes && this.size > 0) this.rotate();
    this.stream.write(clean);
    this.size += Buffer.byteLength(clean);
  }

  line(message: string): void {
    this.write(`${new Date().toISOString()} ${message}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }

  /**
   * Opened here, not by the stream: a stream opens its file later, so a rotation in between would move
   * the file from under it and its lines would land in the new file, after lines written later. Lines
   * written to a descriptor stay in the file it was opened on, wherever a rotation moves it.
   */
  private open(): WriteStream {
    return createWriteStream(this.path, { fd: openSync(this.path, 'a', 0o600) });
  }

  private rotate(): void {
    this.stream.end();
    for (let index = this.keep - 1; index >= 1; index--) moveIfExists(`${this.path}.${index}`, `${this.path}.${index + 1}`);
    moveIfExists(this.path, `${this.path}.1`);
    this.size = 0;
    this.stream = this.open();
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

function moveIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
}
