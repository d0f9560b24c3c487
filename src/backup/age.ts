import { randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { BotsyncError } from '../errors.js';
import { MAX_HEADER_BYTES, VERSION_LINE, encodeHeader, findHeaderEnd, parseHeader, verifyHeaderMac, type ParsedHeader, type Stanza } from './age-header.js';
import { decodeRecipient, decodeSecretKey } from './age-keys.js';
import { ByteQueue, ChunkOpener, ChunkSealer, PAYLOAD_NONCE_BYTES, PayloadStager, SEALED_CHUNK_BYTES, payloadKey } from './age-payload.js';
import { FILE_KEY_BYTES, corrupt } from './age-primitives.js';
import {
  DEFAULT_SCRYPT_LOG_N,
  DEFAULT_SCRYPT_MAX_LOG_N,
  SCRYPT_LOG_N_CEILING,
  SCRYPT_TYPE,
  X25519_TYPE,
  checkLogN,
  scryptUnwrap,
  scryptWrap,
  x25519Identity,
  x25519Unwrap,
  x25519Wrap,
  type X25519Identity,
} from './age-recipients.js';

/**
 * age v1 encryption (https://age-encryption.org/v1) as Node streams, so a backup is
 * `tar | encryptStream | rclone rcat` and restores without botsync by `rclone cat | age -d | tar -x`.
 * Memory stays flat whatever the size: encryption stages one megabyte of plaintext in a buffer it
 * reuses; decryption holds at most one sealed chunk plus what the source hands it in one write.
 *
 * Decryption never emits bytes of a chunk before that chunk's tag has verified, and the header MAC
 * is verified before any payload. A truncated file is only detectable at end of input, so callers
 * must treat output as provisional until the stream finishes without error (tar -x does the same).
 */

export { generateIdentity, parseRecipient, publicKeyOf } from './age-keys.js';

export type AgeRecipient = { type: 'x25519'; publicKey: string } | { type: 'scrypt'; passphrase: string; logN?: number };
export type AgeIdentity = { type: 'x25519'; secretKey: string } | { type: 'scrypt'; passphrase: string; maxLogN?: number };

/**
 * Where plaintext comes from: like a file, it fills the caller's buffer and returns how many bytes it
 * wrote, 0 at the end. The encryptor reads it straight into its own chunk buffer, so nothing is
 * allocated or copied per chunk on the way in.
 */
export interface ByteSource {
  read(into: Buffer, offset: number, length: number): Promise<number>;
}

/** An age file of what `source` reads, as a stream. Throws BAD_INPUT at once for an unusable recipient list. */
export function encryptStream(recipients: AgeRecipient[], source: ByteSource): Readable {
  return new AgeEncryptor(prepareRecipients(recipients), source);
}

/**
 * An age file in, plaintext out. Errors: BACKUP_DECRYPT when no identity opens the file (wrong key
 * or passphrase); BACKUP_CORRUPT when it is malformed, tampered with or truncated.
 */
export function decryptStream(identities: AgeIdentity[]): Transform {
  return new AgeDecryptor(prepareIdentities(identities));
}

type WrapFileKey = (fileKey: Buffer) => Stanza | Promise<Stanza>;

/** Keys are decoded up front so a typo fails before any data flows, not midway through a backup. */
function prepareRecipients(recipients: readonly AgeRecipient[]): WrapFileKey[] {
  if (recipients.length === 0) throw new BotsyncError('BAD_INPUT', 'No backup recipients were given.', { hint: 'Give an age public key or a passphrase.' });
  const hasScrypt = recipients.some((recipient) => recipient.type === 'scrypt');
  // age refuses to decrypt a passphrase stanza next to others (a passphrase file must not be
  // silently openable by someone else's key), so writing one would make an unreadable file.
  if (hasScrypt && recipients.length > 1) {
    throw new BotsyncError('BAD_INPUT', 'A passphrase cannot be combined with other backup recipients.', { hint: 'Use either one passphrase or any number of age public keys.' });
  }
  return recipients.map((recipient): WrapFileKey => {
    if (recipient.type === 'x25519') {
      const publicKey = decodeRecipient(recipient.publicKey);
      return (fileKey) => x25519Wrap(publicKey, fileKey);
    }
    const logN = recipient.logN ?? DEFAULT_SCRYPT_LOG_N;
    checkLogN(logN, DEFAULT_SCRYPT_MAX_LOG_N, 'scrypt work factor');
    return (fileKey) => scryptWrap(recipient.passphrase, logN, fileKey);
  });
}

/** Tries one stanza; undefined when the stanza is not for this identity. */
type UnwrapFileKey = (stanza: Stanza) => Buffer | undefined | Promise<Buffer | undefined>;

interface PreparedIdentity {
  stanzaType: string;
  unwrap: UnwrapFileKey;
}

function prepareIdentities(identities: readonly AgeIdentity[]): PreparedIdentity[] {
  if (identities.length === 0) throw new BotsyncError('BAD_INPUT', 'No backup identities were given.', { hint: 'Give the age secret key or the passphrase the backup was made with.' });
  return identities.map((identity): PreparedIdentity => {
    if (identity.type === 'x25519') {
      const key: X25519Identity = x25519Identity(decodeSecretKey(identity.secretKey));
      return { stanzaType: X25519_TYPE, unwrap: (stanza) => x25519Unwrap(key, stanza) };
    }
    const maxLogN = identity.maxLogN ?? DEFAULT_SCRYPT_MAX_LOG_N;
    checkLogN(maxLogN, SCRYPT_LOG_N_CEILING, 'Maximum scrypt work factor');
    return { stanzaType: SCRYPT_TYPE, unwrap: (stanza) => scryptUnwrap(identity.passphrase, maxLogN, stanza) };
  });
}

/** Runs a possibly-async step and reports its outcome to a stream callback exactly once. */
function settle(step: () => void | Promise<void>, callback: TransformCallback): void {
  let result: void | Promise<void>;
  try {
    result = step();
  } catch (error) {
    callback(error as Error);
    return;
  }
  if (result instanceof Promise) result.then(() => callback(), (error: unknown) => callback(error as Error));
  else callback();
}

class AgeEncryptor extends Readable {
  readonly #wrappers: WrapFileKey[];
  readonly #source: ByteSource;
  #stager: PayloadStager | undefined;
  /** Whether the current _read has pushed a sealed chunk yet. */
  #pushed = false;
  #reading = false;

  constructor(wrappers: WrapFileKey[], source: ByteSource) {
    super();
    this.#wrappers = wrappers;
    this.#source = source;
  }

  /**
   * Reads the source into the staged chunks until at least one chunk is sealed (or the source ended),
   * so a call that reads always pushes: Readable asks again only after a push. The header is pushed
   * before the first read of the source, and Readable may ask again right then: that call returns at
   * once, as the running one is bound to push.
   */
  override async _read(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      const stager = this.#stager ?? (await this.#start());
      this.#pushed = false;
      while (!this.#pushed) {
        const space = stager.space();
        const count = await this.#source.read(space, 0, space.length);
        if (count === 0) {
          stager.finish();
          this.push(null);
          return;
        }
        stager.commit(count);
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Writes the header and payload nonce on the first read rather than at construction, so a scrypt
   * failure surfaces as a stream error and never as an unhandled rejection nobody awaited yet.
   */
  async #start(): Promise<PayloadStager> {
    const fileKey = randomBytes(FILE_KEY_BYTES);
    const stanzas = await Promise.all(this.#wrappers.map((wrap) => wrap(fileKey)));
    const nonce = randomBytes(PAYLOAD_NONCE_BYTES);
    this.push(encodeHeader(stanzas, fileKey));
    this.push(nonce);
    this.#stager = new PayloadStager(new ChunkSealer(payloadKey(fileKey, nonce)), (part) => {
      this.#pushed = true;
      this.push(part);
    });
    return this.#stager;
  }
}

const MAGIC = Buffer.from(`${VERSION_LINE}\n`, 'latin1');

class AgeDecryptor extends Transform {
  readonly #identities: PreparedIdentity[];
  /** The header bytes received so far; undefined once the header is complete and the payload is flowing. */
  #header: Buffer | undefined = Buffer.alloc(0);
  readonly #headerCursor = { scanFrom: 0 };
  #fileKey: Buffer | undefined;
  #opener: ChunkOpener | undefined;
  readonly #pending = new ByteQueue();

  constructor(identities: PreparedIdentity[]) {
    super();
    this.#identities = identities;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    settle(() => {
      if (this.#header === undefined) return this.#openFull(chunk);
      return this.#readHeader(chunk).then(() => this.#openFull(Buffer.alloc(0)));
    }, callback);
  }

  override _flush(callback: TransformCallback): void {
    settle(() => this.#openLast(), callback);
  }

  /** Buffers until the header is complete, then unlocks the file key; what follows goes to the payload queue. */
  async #readHeader(chunk: Buffer): Promise<void> {
    const header = Buffer.concat([this.#header as Buffer, chunk]);
    checkMagic(header);
    const end = findHeaderEnd(header, this.#headerCursor);
    if (end === undefined) {
      if (header.length > MAX_HEADER_BYTES) throw corrupt('The backup header is implausibly large.');
      this.#header = header;
      return;
    }
    this.#header = undefined;
    this.#pending.push(header.subarray(end));
    this.#fileKey = await unlock(parseHeader(header.subarray(0, end)), this.#identities);
  }

  /** Opens only while more than a sealed chunk is queued: only the last chunk of the input may be final. */
  #openFull(chunk: Buffer): void {
    this.#pending.push(chunk);
    const opener = this.#readyOpener();
    if (opener === undefined) return;
    while (this.#pending.length > SEALED_CHUNK_BYTES) this.push(opener.open(this.#pending.take(SEALED_CHUNK_BYTES), false));
  }

  #openLast(): void {
    if (this.#header !== undefined) {
      checkMagic(this.#header);
      throw corrupt(this.#header.length === 0 ? 'The backup is empty.' : 'The backup is truncated inside its header.');
    }
    const opener = this.#readyOpener();
    if (opener === undefined) throw corrupt('The backup is truncated before its data.');
    this.push(opener.open(this.#pending.takeAll(), true));
  }

  /** The payload nonce follows the header; the chunk opener exists once it has arrived. */
  #readyOpener(): ChunkOpener | undefined {
    if (this.#opener === undefined && this.#fileKey !== undefined && this.#pending.length >= PAYLOAD_NONCE_BYTES) {
      this.#opener = new ChunkOpener(payloadKey(this.#fileKey, this.#pending.take(PAYLOAD_NONCE_BYTES)));
    }
    return this.#opener;
  }
}

/** Fails at the first byte that cannot begin an age file, rather than buffering up to the header limit. */
function checkMagic(start: Buffer): void {
  const length = Math.min(start.length, MAGIC.length);
  if (start.subarray(0, length).equals(MAGIC.subarray(0, length))) return;
  const armored = start.toString('latin1', 0, 40).startsWith('-----BEGIN AGE ENCRYPTED FILE-----');
  throw new BotsyncError('BACKUP_CORRUPT', armored ? 'The backup is ASCII-armored age, which is not supported here.' : 'The backup is not an age-encrypted file.', {
    hint: armored ? 'Decrypt it with `age -d` instead.' : 'Check that the path points at a botsync backup; it may be damaged or a different kind of file.',
  });
}

/**
 * Finds the file key: the first stanza an identity opens, then the header MAC under that key. A
 * passphrase stanza must be alone (age's rule), so a passphrase file cannot also carry a key that
 * opens it without the passphrase.
 */
async function unlock(header: ParsedHeader, identities: readonly PreparedIdentity[]): Promise<Buffer> {
  const types = header.stanzas.map((stanza) => stanza.type);
  if (types.includes(SCRYPT_TYPE) && types.length > 1) throw corrupt('The backup header has a passphrase stanza alongside other stanzas.');
  for (const identity of identities) {
    for (const stanza of header.stanzas) {
      if (stanza.type !== identity.stanzaType) continue;
      const fileKey = await identity.unwrap(stanza);
      if (fileKey === undefined) continue;
      verifyHeaderMac(header, fileKey);
      return fileKey;
    }
  }
  throw noMatchingIdentity(types, identities);
}

function noMatchingIdentity(stanzaTypes: readonly string[], identities: readonly PreparedIdentity[]): BotsyncError {
  const byPassphrase = stanzaTypes.includes(SCRYPT_TYPE);
  const triedPassphrase = identities.some((identity) => identity.stanzaType === SCRYPT_TYPE);
  let hint: string;
  if (byPassphrase && !triedPassphrase) hint = 'This backup was encrypted with a passphrase, not a key: give the passphrase.';
  else if (byPassphrase) hint = 'The passphrase is wrong. Passphrases are case-sensitive.';
  else if (!stanzaTypes.includes(X25519_TYPE)) hint = `This backup was encrypted to recipient types botsync does not support (${[...new Set(stanzaTypes)].join(', ')}); try \`age -d\`.`;
  else if (triedPassphrase && identities.length === 1) hint = 'This backup was encrypted to an age key, not a passphrase: give the secret key.';
  else hint = 'Give the secret key whose public key the backup was made for. (A damaged header looks the same.)';
  return new BotsyncError('BACKUP_DECRYPT', byPassphrase ? 'The passphrase does not decrypt this backup.' : 'None of the given keys decrypts this backup.', { hint });
}
