import { BotsyncError } from '../errors.js';
import { TAG_BYTES, corrupt, hkdf, open, sealParts } from './age-primitives.js';

/**
 * The age payload: a 16-byte nonce, then the plaintext in 64 KiB chunks, each sealed with
 * ChaCha20-Poly1305 under HKDF(file key, nonce, "payload") and the STREAM nonce: an 11-byte
 * big-endian chunk counter and a flag byte that is 1 on the final chunk only. The flag is what makes
 * truncation at a chunk boundary detectable; the counter is what makes reordering detectable.
 */

export const CHUNK_BYTES = 64 * 1024;
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;
export const PAYLOAD_NONCE_BYTES = 16;
const STREAM_NONCE_BYTES = 12;
const FLAG_OFFSET = 11;

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return hkdf(fileKey, nonce, 'payload');
}

/** Counts chunks and builds their nonces; shared by both directions so they cannot disagree. */
class ChunkCounter {
  #counter = 0;
  #finished = false;

  /** The nonce for the next chunk; after a final one there is no next. */
  next(last: boolean): Buffer {
    if (this.#finished) throw new BotsyncError('INTERNAL', 'age STREAM: chunk after the final chunk.');
    // 2^53 chunks of 64 KiB is far past any file; a Number counter is exact up to there.
    if (!Number.isSafeInteger(this.#counter + 1)) throw new BotsyncError('INTERNAL', 'age STREAM: chunk counter overflow.');
    const nonce = Buffer.alloc(STREAM_NONCE_BYTES);
    nonce.writeUIntBE(Math.floor(this.#counter / 2 ** 32), 3, 4);
    nonce.writeUInt32BE(this.#counter % 2 ** 32, 7);
    nonce[FLAG_OFFSET] = last ? 1 : 0;
    this.#counter += 1;
    this.#finished = last;
    return nonce;
  }

  get index(): number {
    return this.#counter;
  }
}

export class ChunkSealer {
  readonly #key: Buffer;
  readonly #counter = new ChunkCounter();

  constructor(key: Buffer) {
    this.#key = key;
  }

  /** Non-final chunks must be exactly 64 KiB; the final one at most that, and empty only if it is the only one. */
  /** The sealed chunk as pieces to write in order (see sealParts). */
  seal(plaintext: Buffer, last: boolean): Buffer[] {
    if (last ? plaintext.length > CHUNK_BYTES || (plaintext.length === 0 && this.#counter.index > 0) : plaintext.length !== CHUNK_BYTES) {
      throw new BotsyncError('INTERNAL', `age STREAM: ${last ? 'final' : 'non-final'} chunk of ${plaintext.length} bytes.`);
    }
    return sealParts(this.#key, this.#counter.next(last), plaintext);
  }
}

export class ChunkOpener {
  readonly #key: Buffer;
  readonly #counter = new ChunkCounter();

  constructor(key: Buffer) {
    this.#key = key;
  }

  /** The authenticated plaintext of the next chunk; throws BACKUP_CORRUPT for anything else. */
  open(sealed: Buffer, last: boolean): Buffer {
    const index = this.#counter.index;
    if (sealed.length < TAG_BYTES) throw corrupt('The backup is truncated: its last chunk is incomplete.');
    if (last && sealed.length === TAG_BYTES && index > 0) throw corrupt('The backup ends with an empty chunk, which age never writes.');
    const plaintext = open(this.#key, this.#counter.next(last), sealed);
    if (plaintext === undefined) {
      // A full-size chunk at the end of input that fails as final is most likely a cut at a chunk boundary.
      const truncated = last && sealed.length === SEALED_CHUNK_BYTES;
      throw corrupt(truncated ? 'The backup is truncated: its final chunk is missing.' : `The backup's data chunk ${index} does not authenticate.`);
    }
    return plaintext;
  }
}

/**
 * Plaintext waiting to be sealed, in one buffer reused for the whole file: the source reads straight
 * into `space()`, and whole chunks are sealed as soon as it is known that more follows them (only the
 * last chunk of a file may be final). Nothing is allocated per chunk but the ciphertext itself.
 */
export class PayloadStager {
  readonly #buffer = Buffer.allocUnsafe(STAGED_CHUNKS * CHUNK_BYTES);
  readonly #sealer: ChunkSealer;
  readonly #emit: (part: Buffer) => void;
  /** The staged, not yet sealed bytes are #buffer[#start, #end). */
  #start = 0;
  #end = 0;

  constructor(sealer: ChunkSealer, emit: (part: Buffer) => void) {
    this.#sealer = sealer;
    this.#emit = emit;
  }

  /** Where the next plaintext goes; at least (STAGED_CHUNKS - 1) chunks long. */
  space(): Buffer {
    if (this.#start > 0) {
      // At most one chunk is left over after commit(): moving it is cheap.
      this.#buffer.copy(this.#buffer, 0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    return this.#buffer.subarray(this.#end);
  }

  /** `count` bytes were written into space(); seals every chunk that something follows. */
  commit(count: number): void {
    this.#end += count;
    while (this.#end - this.#start > CHUNK_BYTES) {
      for (const part of this.#sealer.seal(this.#buffer.subarray(this.#start, this.#start + CHUNK_BYTES), false)) this.#emit(part);
      this.#start += CHUNK_BYTES;
    }
  }

  /** The end of the plaintext: what is staged becomes the final chunk (empty only for an empty file). */
  finish(): void {
    for (const part of this.#sealer.seal(this.#buffer.subarray(this.#start, this.#end), true)) this.#emit(part);
    this.#start = this.#end = 0;
  }
}

/** A megabyte staged at a time: reads that size cost little per byte and memory stays small. */
const STAGED_CHUNKS = 16;

/**
 * A FIFO of buffers that hands out exact-size slices: stream chunks arrive in whatever sizes the
 * source reads, and STREAM needs fixed 64 KiB chunks. A slice within one buffer is a view, not a copy.
 */
export class ByteQueue {
  #buffers: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(buffer: Buffer): void {
    if (buffer.length === 0) return;
    this.#buffers.push(buffer);
    this.#length += buffer.length;
  }

  /** The first `count` bytes (count <= length). */
  take(count: number): Buffer {
    const first = this.#buffers[0];
    if (first !== undefined && first.length >= count) {
      this.#consumeFirst(count);
      return first.subarray(0, count);
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const head = this.#buffers[0] as Buffer;
      const used = Math.min(head.length, count - filled);
      head.copy(out, filled, 0, used);
      this.#consumeFirst(used);
      filled += used;
    }
    return out;
  }

  takeAll(): Buffer {
    return this.take(this.#length);
  }

  #consumeFirst(count: number): void {
    const head = this.#buffers[0] as Buffer;
    if (count === head.length) this.#buffers.shift();
    else this.#buffers[0] = head.subarray(count);
    this.#length -= count;
  }
}
