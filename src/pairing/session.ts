import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { BotsyncError } from '../errors.js';
import { lvCat } from './cpace.js';

/**
 * What the pairing does with CPace's ISK: a key schedule bound to the whole exchange, explicit key
 * confirmation in both directions, and authenticated encryption of each side's device details.
 *
 * The host makes its CPace message before the relay allocates the nameplate, so the nameplate cannot
 * be part of CPace's CI or sid. It is bound here instead: it is in the HKDF salt, so every key
 * depends on it, and in each confirmation tag, so a relay that shows the two sides different
 * nameplates or different messages makes the confirmation fail, exactly like a wrong code.
 *
 * CPace inputs (draft-irtf-cfrg-cpace-21):
 * - CI = PAIRING_CI, the same on both sides, so a share made for another protocol or version never
 *   yields a matching key.
 * - sid: the draft RECOMMENDS a unique public sid whenever both sides can have it before computing
 *   their share (sections 4.1, 10.9, 10.12). Nothing shared exists before the host speaks, but the
 *   host can draw one (newPairingSid) and send it with its share; the guest computes only after
 *   receiving it. That keeps the generators per-session: with an empty sid and a fixed CI, all
 *   botsync pairings ever draw from the same 2^33 generators, so an attacker able to take discrete
 *   logs (section 10.12) could precompute once for every code and then test a code for each later
 *   session cheaply. An empty sid is still sound against today's attackers (section 10.6 and
 *   [BGHJ24] analyse CPace without one, and every scalar is fresh), so it works; the random sid is
 *   the better choice at the cost of 16 bytes. A relay that swaps the sid only changes the ISK, which
 *   the confirmation then rejects.
 */

export type PairingSide = 'host' | 'guest';

export interface PairingContext {
  nameplate: string;
  /** The host's CPace message, as sent. */
  hostMessage: Uint8Array;
  /** The guest's CPace message, as sent. */
  guestMessage: Uint8Array;
}

/** Four independent 32-byte keys. `aead` is indexed by the sender: `aead.host` seals host -> guest. */
export interface SessionKeys {
  readonly confirm: Readonly<Record<PairingSide, Uint8Array>>;
  readonly aead: Readonly<Record<PairingSide, Uint8Array>>;
}

export const PAIRING_CI: Uint8Array = utf8ToBytes('botsync-pair-v1');
export const PAIRING_SID_BYTES = 16;
/** HMAC-SHA512's whole output; see confirmationTag. */
export const CONFIRMATION_TAG_BYTES = 64;

const SALT_LABEL = utf8ToBytes('botsync-pair-v1');
const CONFIRM_LABEL = utf8ToBytes('botsync-confirm-v1');
const KEY_BYTES = 32;
const ISK_BYTES = 64;
const NONCE_BYTES = 24;
const POLY1305_TAG_BYTES = 16;
const KEY_LABELS = {
  confirmHost: 'botsync-pair-v1 confirm host',
  confirmGuest: 'botsync-pair-v1 confirm guest',
  aeadHost: 'botsync-pair-v1 aead host->guest',
  aeadGuest: 'botsync-pair-v1 aead guest->host',
} as const;

/** A fresh session identifier for the host to send next to its CPace share (see above). */
export function newPairingSid(): Uint8Array {
  return randomBytes(PAIRING_SID_BYTES);
}

export function deriveSessionKeys(isk: Uint8Array, context: PairingContext): SessionKeys {
  if (isk.length !== ISK_BYTES) {
    throw new BotsyncError('INTERNAL', `A CPace ISK is ${ISK_BYTES} bytes, not ${isk.length}.`);
  }
  const prk = extract(sha512, isk, sha512(transcript(SALT_LABEL, context)));
  const key = (label: string): Uint8Array => expand(sha512, prk, utf8ToBytes(label), KEY_BYTES);
  return {
    confirm: { host: key(KEY_LABELS.confirmHost), guest: key(KEY_LABELS.confirmGuest) },
    aead: { host: key(KEY_LABELS.aeadHost), guest: key(KEY_LABELS.aeadGuest) },
  };
}

/**
 * `side`'s proof that it holds the same keys, over the labelled transcript. The full 64-byte HMAC
 * output is used: truncating would only save 32 bytes in a message that is otherwise small, and a
 * full-length tag leaves no truncation length for the two sides to agree on. (What bounds an
 * attacker is one guess at the 33-bit code per session, not the tag length.)
 */
export function confirmationTag(keys: SessionKeys, side: PairingSide, context: PairingContext): Uint8Array {
  return hmac(sha512, keys.confirm[side], transcript(CONFIRM_LABEL, context, utf8ToBytes(side)));
}

/** Throws PAIRING_WRONG_CODE unless `tag` is `side`'s tag; a mistyped code and a tampering relay look the same. */
export function verifyConfirmation(keys: SessionKeys, side: PairingSide, context: PairingContext, tag: Uint8Array): void {
  if (!equalBytes(confirmationTag(keys, side, context), tag)) {
    throw new BotsyncError('PAIRING_WRONG_CODE', 'The code did not match on both machines, so they were not paired.', {
      hint: 'Get a new code on the other machine (`botsync init` or `botsync invite`) and type it again: each code allows a single try.',
    });
  }
}

/** XChaCha20-Poly1305 with `from`'s key; a random 24-byte nonce (safe to draw at random at that size) leads the output. */
export function seal(keys: SessionKeys, from: PairingSide, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  return concatBytes(nonce, xchacha20poly1305(keys.aead[from], nonce, aad).encrypt(plaintext));
}

/** Inverse of seal; throws PAIRING_TAMPERED when the input is short or does not authenticate. */
export function open(keys: SessionKeys, from: PairingSide, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_BYTES + POLY1305_TAG_BYTES) {
    throw tampered('a sealed message is too short to be one', undefined);
  }
  const nonce = sealed.subarray(0, NONCE_BYTES);
  try {
    return xchacha20poly1305(keys.aead[from], nonce, aad).decrypt(sealed.subarray(NONCE_BYTES));
  } catch (error) {
    throw tampered('a sealed message did not authenticate', error);
  }
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Strict: Node's decoder skips characters it does not know, which would let altered text through. */
export function fromBase64Url(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64url');
  if (!/^[A-Za-z0-9_-]*$/.test(text) || bytes.toString('base64url') !== text) {
    throw tampered('a message is not valid base64url text', undefined);
  }
  return new Uint8Array(bytes);
}

/** lv_cat(label, [side,] nameplate, hostMessage, guestMessage): unambiguous, whatever the lengths. */
function transcript(label: Uint8Array, context: PairingContext, side?: Uint8Array): Uint8Array {
  const parts = [label, ...(side === undefined ? [] : [side]), utf8ToBytes(context.nameplate), context.hostMessage, context.guestMessage];
  return lvCat(...parts);
}

function tampered(why: string, cause: unknown): BotsyncError {
  return new BotsyncError('PAIRING_TAMPERED', `Pairing stopped: ${why}.`, {
    hint: 'Start pairing again with a new code. If it happens again, something between the machines is altering messages: try another relay (--relay / BOTSYNC_RELAY).',
    cause,
  });
}
