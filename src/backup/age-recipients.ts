import { diffieHellman, generateKeyPairSync, randomBytes, scrypt as scryptCallback, type KeyObject } from 'node:crypto';
import { BotsyncError } from '../errors.js';
import type { Stanza } from './age-header.js';
import { privateKeyObject, publicKeyObject, rawPublicKey } from './age-keys.js';
import { FILE_KEY_BYTES, KEY_BYTES, TAG_BYTES, base64Decode, base64Encode, corrupt, hkdf, openFileKey, sealFileKey } from './age-primitives.js';

/**
 * The two recipient types botsync supports, each a way to wrap the 16-byte file key into a header
 * stanza and to unwrap it again: X25519 (age1... keys) and scrypt (passphrases).
 *
 * Unwrapping answers undefined when a stanza is simply not for this identity (the AEAD tag does not
 * match: another recipient, or a wrong passphrase) and throws BACKUP_CORRUPT when the stanza itself
 * is malformed, which no honest encryptor writes.
 */

export const X25519_TYPE = 'X25519';
export const SCRYPT_TYPE = 'scrypt';
const X25519_LABEL = 'age-encryption.org/v1/X25519';
const SCRYPT_LABEL = Buffer.from('age-encryption.org/v1/scrypt', 'latin1');
const SCRYPT_SALT_BYTES = 16;
const WRAPPED_KEY_BYTES = FILE_KEY_BYTES + TAG_BYTES;
/** What age itself encrypts with: about a second and 256 MiB of memory on a laptop. */
export const DEFAULT_SCRYPT_LOG_N = 18;
/**
 * What age itself accepts when decrypting; anything higher is refused before scrypt allocates
 * 2^logN KiB. Encryption stays at or below it too, or age -d could not open the file.
 */
export const DEFAULT_SCRYPT_MAX_LOG_N = 22;
/** The most a caller may raise the decryption limit to: 2^30 KiB is already a terabyte. */
export const SCRYPT_LOG_N_CEILING = 30;
/** Work factors are written in decimal without sign or leading zeros, so each has one encoding. */
const LOG_N_PATTERN = /^[1-9][0-9]*$/;

export interface X25519Identity {
  privateKey: KeyObject;
  publicKey: Buffer;
}

export function x25519Identity(secret: Uint8Array): X25519Identity {
  const privateKey = privateKeyObject(secret);
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

function x25519WrapKey(sharedSecret: Uint8Array, ephemeralShare: Uint8Array, recipient: Uint8Array): Buffer {
  return hkdf(sharedSecret, Buffer.concat([ephemeralShare, recipient]), X25519_LABEL);
}

/** A fresh ephemeral key per stanza, so the file key is wrapped under a one-time shared secret. */
export function x25519Wrap(recipient: Buffer, fileKey: Uint8Array): Stanza {
  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  const sharedSecret = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: publicKeyObject(recipient) });
  const body = sealFileKey(x25519WrapKey(sharedSecret, share, recipient), fileKey);
  return { type: X25519_TYPE, args: [base64Encode(share)], body };
}

export function x25519Unwrap(identity: X25519Identity, stanza: Stanza): Buffer | undefined {
  const share = stanza.args.length === 1 ? base64Decode(stanza.args[0] as string) : undefined;
  if (share === undefined || share.length !== KEY_BYTES || stanza.body.length !== WRAPPED_KEY_BYTES) {
    throw corrupt('An X25519 stanza in the backup header is malformed.');
  }
  let sharedSecret: Buffer;
  try {
    sharedSecret = diffieHellman({ privateKey: identity.privateKey, publicKey: publicKeyObject(share) });
  } catch (error) {
    // OpenSSL refuses a low-order share (all-zero shared secret): a crafted stanza, never an honest one.
    throw corrupt('An X25519 stanza in the backup header has an invalid ephemeral share.', error);
  }
  return openFileKey(x25519WrapKey(sharedSecret, share, identity.publicKey), stanza.body);
}

/**
 * scrypt(N = 2^logN, r = 8, p = 1) on the libuv thread pool, so a second of key stretching does not
 * stall the event loop. Node caps scrypt's memory at 32 MiB by default; age's N needs 128·r·N bytes.
 * The passphrase is hashed as its UTF-8 bytes, unnormalised, exactly as age does.
 */
function scryptKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  const r = 8;
  const maxmem = 2 * 128 * r * N;
  return new Promise((resolve, reject) => {
    scryptCallback(Buffer.from(passphrase, 'utf8'), Buffer.concat([SCRYPT_LABEL, salt]), KEY_BYTES, { N, r, p: 1, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Throws BAD_INPUT unless logN is a usable work factor no higher than `max`. */
export function checkLogN(logN: number, max: number, what: string): void {
  if (!Number.isInteger(logN) || logN < 1 || logN > max) {
    throw new BotsyncError('BAD_INPUT', `${what} ${logN} is out of range.`, { hint: `Use an integer log2 work factor from 1 to ${max}; age uses ${DEFAULT_SCRYPT_LOG_N}.` });
  }
}

export async function scryptWrap(passphrase: string, logN: number, fileKey: Uint8Array): Promise<Stanza> {
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const body = sealFileKey(await scryptKey(passphrase, salt, logN), fileKey);
  return { type: SCRYPT_TYPE, args: [base64Encode(salt), String(logN)], body };
}

export async function scryptUnwrap(passphrase: string, maxLogN: number, stanza: Stanza): Promise<Buffer | undefined> {
  const [saltText, logNText] = stanza.args;
  const salt = stanza.args.length === 2 ? base64Decode(saltText as string) : undefined;
  if (salt === undefined || salt.length !== SCRYPT_SALT_BYTES || !LOG_N_PATTERN.test(logNText as string) || stanza.body.length !== WRAPPED_KEY_BYTES) {
    throw corrupt('The scrypt stanza in the backup header is malformed.');
  }
  const logN = Number(logNText);
  if (logN > maxLogN) {
    throw new BotsyncError('BACKUP_CORRUPT', `The backup asks for scrypt work factor 2^${logN}, above the limit of 2^${maxLogN}.`, {
      hint: 'A passphrase backup made by age uses 2^18. If this file is trusted, raise the maximum work factor.',
    });
  }
  return openFileKey(await scryptKey(passphrase, salt, logN), stanza.body);
}
