import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { BotsyncError } from '../errors.js';

/**
 * The building blocks the age format is made of, on Node's built-in crypto: HKDF-SHA256,
 * HMAC-SHA256, ChaCha20-Poly1305 and age's strict base64. Everything else in age-*.ts is layout.
 */

export const FILE_KEY_BYTES = 16;
export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
const ZERO_NONCE = Buffer.alloc(12);

export const CORRUPT_HINT =
  'The backup file was damaged or changed after it was written; nothing from the damaged part was restored. Try an older backup.';

export function corrupt(message: string, cause?: unknown): BotsyncError {
  return new BotsyncError('BACKUP_CORRUPT', message, { hint: CORRUPT_HINT, cause });
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, KEY_BYTES));
}

export function hmac(key: Uint8Array, message: Uint8Array): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

/** Constant-time, so a forger learns nothing from how long a wrong MAC took to reject. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** ChaCha20-Poly1305 encryption; the tag is appended, as age lays it out. */
export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  return Buffer.concat(sealParts(key, nonce, plaintext));
}

/**
 * The same ciphertext||tag as pieces to write one after the other: for 64 KiB payload chunks, joining
 * them would copy every byte once more, which costs more than a third of the cipher's own time.
 */
export function sealParts(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer[] {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return tail.length === 0 ? [head, cipher.getAuthTag()] : [head, tail, cipher.getAuthTag()];
}

/**
 * ChaCha20-Poly1305 decryption of ciphertext||tag, or undefined when it does not authenticate. The
 * plaintext only leaves this function after final() has checked the tag, so no caller can see
 * unauthenticated bytes.
 */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_BYTES) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch (error) {
    // final() throws exactly when the tag does not match: that is an answer, not a failure.
    if (error instanceof Error && /unable to authenticate/i.test(error.message)) return undefined;
    throw error;
  }
}

/** Wraps a file key under a stanza's wrap key: age always uses the all-zero nonce here, as each wrap key is used once. */
export function sealFileKey(wrapKey: Uint8Array, fileKey: Uint8Array): Buffer {
  return seal(wrapKey, ZERO_NONCE, fileKey);
}

export function openFileKey(wrapKey: Uint8Array, body: Uint8Array): Buffer | undefined {
  return open(wrapKey, ZERO_NONCE, body);
}

/** Standard-alphabet base64 without padding, as every age header field is written. */
export function base64Encode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

const BASE64_UNPADDED = /^[A-Za-z0-9+/]*$/;

/**
 * Decodes age's base64 strictly: no padding, no other alphabet, no whitespace, and canonical (the
 * unused low bits of the last character are zero). Node's decoder accepts all of those silently,
 * and a lenient decoder would let two different headers carry the same stanza.
 */
export function base64Decode(text: string): Buffer | undefined {
  if (!BASE64_UNPADDED.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return base64Encode(bytes) === text ? bytes : undefined;
}
