import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { BotsyncError } from '../errors.js';
import { bech32Decode, bech32Encode } from './age-bech32.js';
import { KEY_BYTES } from './age-primitives.js';

/**
 * age's native X25519 keys: recipients are bech32 "age1..." public keys, identities are upper-case
 * bech32 "AGE-SECRET-KEY-1..." secret keys, the same strings age-keygen prints.
 */

const PUBLIC_HRP = 'age';
const SECRET_HRP = 'age-secret-key-';

/**
 * Raw 32-byte X25519 keys go into KeyObjects through their fixed DER wrappers (PKCS#8 and SPKI for
 * OID 1.3.101.110). The JWK route needs the public "x" alongside "d" and never checks the two match,
 * so a secret key alone could not be imported through it honestly.
 */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const KEYGEN_HINT = 'age-keygen prints a key pair; its "public key: age1..." line is the recipient.';

export function privateKeyObject(secret: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
}

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of an X25519 KeyObject's public half (the tail of its SPKI encoding). */
export function rawPublicKey(key: KeyObject): Buffer {
  // Node 20's createPublicKey rejects a KeyObject that is already public.
  const spki = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - KEY_BYTES);
}

function rawPrivateKey(key: KeyObject): Buffer {
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  return pkcs8.subarray(pkcs8.length - KEY_BYTES);
}

export function encodeRecipient(publicKey: Uint8Array): string {
  return bech32Encode(PUBLIC_HRP, publicKey);
}

export function encodeSecretKey(secret: Uint8Array): string {
  return bech32Encode(SECRET_HRP, secret).toUpperCase();
}

/** The bytes of an age key of the expected prefix, or undefined for anything else. */
function decodeKey(text: string, hrp: string): Buffer | undefined {
  let decoded: { hrp: string; bytes: Buffer };
  try {
    decoded = bech32Decode(text);
  } catch {
    // Every bech32 failure (checksum, charset, case) means the same to a caller: not a key of ours.
    return undefined;
  }
  return decoded.hrp === hrp && decoded.bytes.length === KEY_BYTES ? decoded.bytes : undefined;
}

function recipientHint(text: string): string {
  if (/^age-secret-key-1/i.test(text)) return `That is a secret key: keep it private. Give its public key instead (age-keygen -y KEYFILE prints it). ${KEYGEN_HINT}`;
  if (/^(ssh-|ecdsa-)/.test(text)) return `SSH keys are not supported as backup recipients. ${KEYGEN_HINT}`;
  if (/^age1[a-z0-9]+1/i.test(text)) return `Plugin recipients (age1NAME1...) are not supported. ${KEYGEN_HINT}`;
  return `An age public key starts with "age1" and is 62 characters long. ${KEYGEN_HINT}`;
}

/** The raw public key of an "age1..." recipient; BAD_INPUT, with a hint for the usual mix-ups, otherwise. */
export function decodeRecipient(text: string): Buffer {
  const trimmed = text.trim();
  const bytes = decodeKey(trimmed, PUBLIC_HRP);
  if (bytes === undefined) {
    throw new BotsyncError('BAD_INPUT', `${JSON.stringify(abbreviate(trimmed))} is not an age public key.`, { hint: recipientHint(trimmed) });
  }
  return bytes;
}

/** Validates an "age1..." recipient, returning it normalised (trimmed, lower-case). */
export function parseRecipient(text: string): string {
  return encodeRecipient(decodeRecipient(text));
}

/** The raw secret of an "AGE-SECRET-KEY-1..." identity; the message never echoes the secret. */
export function decodeSecretKey(text: string): Buffer {
  const bytes = decodeKey(text.trim(), SECRET_HRP);
  if (bytes === undefined) {
    throw new BotsyncError('BAD_INPUT', 'That is not an age secret key.', {
      hint: 'An age secret key starts with "AGE-SECRET-KEY-1" and is 74 characters long, as age-keygen writes it.',
    });
  }
  return bytes;
}

/** Long garbage is cut in messages so a pasted file does not flood the terminal. */
function abbreviate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function generateIdentity(): { secretKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { secretKey: encodeSecretKey(rawPrivateKey(privateKey)), publicKey: encodeRecipient(rawPublicKey(publicKey)) };
}

export function publicKeyOf(secretKey: string): string {
  return encodeRecipient(rawPublicKey(privateKeyObject(decodeSecretKey(secretKey))));
}
