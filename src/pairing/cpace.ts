import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, equalBytes } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { BotsyncError } from '../errors.js';

/**
 * CPace, the balanced PAKE of draft-irtf-cfrg-cpace-21, cipher suite CPACE-RISTR255-SHA512, in the
 * initiator-responder setting (transcript_ir). The low-level functions keep the draft's names and
 * argument order so they can be checked line by line against it and its Appendix B.3 test vectors;
 * cpaceStart / cpaceFinish are what botsync's pairing uses.
 *
 * CPace outputs an intermediate session key (ISK) and nothing else: the draft forbids exposing K
 * (a leaked K allows an offline dictionary attack on the password), so K never leaves this module's
 * high-level API. Key derivation and key confirmation are the caller's job (see session.ts).
 */

export type RistrettoPoint = InstanceType<typeof ristretto255.Point>;
export type CpaceRole = 'initiator' | 'responder';

/** G_Ristretto255.DSI. */
export const DSI: Uint8Array = utf8ToBytes('CPaceRistretto255');
/** G.I, the encoding of the neutral element: scalar_mult_vfy's "abort" answer. */
export const IDENTITY: Uint8Array = new Uint8Array(32);
// Compared against privately, so a caller writing into the exported IDENTITY cannot disable the abort.
const NEUTRAL_ENCODING = new Uint8Array(32);
const ELEMENT_BYTES = 32;
/** H.s_in_bytes for SHA-512: generator_string pads PRS out to this block size. */
export const SHA512_BLOCK_BYTES = 128;
const ISK_LABEL = utf8ToBytes('_ISK');
const GROUP_ORDER = ristretto255.Point.Fn.ORDER;
/** G.group_size_bits: sample_scalar clears the bits above it. */
const GROUP_SIZE_BITS = 252;

/** LEB128 length followed by the data: the prefix-free encoding every CPace hash input uses. */
export function prependLen(data: Uint8Array): Uint8Array {
  const length: number[] = [];
  let rest = data.length;
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    length.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return concatBytes(Uint8Array.from(length), data);
}

export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.map(prependLen));
}

/**
 * lv_cat(DSI, PRS, zero padding, CI, sid). For a short PRS the padding makes DSI and PRS fill exactly
 * the first hash block, so the amount hashed does not reveal the PRS length and that block does not
 * mix the secret with the public, session-specific CI and sid (a side-channel measure).
 */
export function generatorString(dsi: Uint8Array, prs: Uint8Array, ci: Uint8Array, sid: Uint8Array, sInBytes: number): Uint8Array {
  const zeroPadding = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, new Uint8Array(zeroPadding), ci, sid);
}

/** H.hash(generator_string, 2 * field_size_bytes): the 64 uniform bytes element derivation needs. */
export function generatorHash(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  return sha512(generatorString(DSI, prs, ci, sid, SHA512_BLOCK_BYTES));
}

/** The password-dependent generator: RFC 9496 element derivation (one-way map of 64 bytes). */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): RistrettoPoint {
  return elementDerivation(generatorHash(prs, ci, sid));
}

/**
 * The draft's RECOMMENDED sampling: 32 random bytes with the bits above group_size_bits cleared, read
 * little-endian. That is always below the group order; zero (probability 2^-252) is redrawn because
 * a zero scalar would make the share the neutral element.
 */
export function sampleScalar(): bigint {
  for (;;) {
    const bytes = randomBytes(32);
    bytes[31] &= (1 << (GROUP_SIZE_BITS - 248)) - 1;
    const scalar = bytesToNumberLE(bytes);
    if (scalar !== 0n) return scalar;
  }
}

/** A scalar as the draft's vectors print it: little-endian bytes. */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  return bytesToNumberLE(bytes);
}

/** encode(y * g): a party's public share. */
export function scalarMult(y: bigint, g: RistrettoPoint): Uint8Array {
  return g.multiply(checkedScalar(y)).toBytes();
}

/**
 * encode(y * decode(X)), or G.I when X is not a valid ristretto255 encoding. The neutral element
 * needs no separate check: it decodes fine and y * I encodes as G.I, which the caller aborts on.
 */
export function scalarMultVfy(y: bigint, x: Uint8Array): Uint8Array {
  const point = decodeElement(x);
  return point === undefined ? NEUTRAL_ENCODING.slice() : point.multiply(checkedScalar(y)).toBytes();
}

/** Constant time, because K is a secret whenever it is not the neutral element. */
export function isIdentity(encoded: Uint8Array): boolean {
  return equalBytes(encoded, NEUTRAL_ENCODING);
}

/** transcript_ir: the initiator's share and associated data first, whatever order they arrived in. */
export function transcriptIr(ya: Uint8Array, ada: Uint8Array, yb: Uint8Array, adb: Uint8Array): Uint8Array {
  return concatBytes(lvCat(ya, ada), lvCat(yb, adb));
}

/** ISK = H.hash(lv_cat(DSI || "_ISK", sid, K) || transcript). */
export function intermediateSessionKey(sid: Uint8Array, k: Uint8Array, transcript: Uint8Array): Uint8Array {
  return sha512(concatBytes(lvCat(concatBytes(DSI, ISK_LABEL), sid, k), transcript));
}

export interface CpaceInput {
  /** The password-related string: the shared secret. */
  prs: Uint8Array;
  /** Channel identifier: both sides must use the same one; never sent. */
  ci: Uint8Array;
  /** Session identifier: both sides must use the same one; public. */
  sid: Uint8Array;
  /** This side's associated data: sent in the clear next to `message`, authenticated by the ISK. */
  ad: Uint8Array;
}

export interface CpaceParty {
  readonly role: CpaceRole;
  /** This side's share Y, to send to the other side. */
  readonly message: Uint8Array;
}

interface PartyState {
  scalar: bigint;
  message: Uint8Array;
  sid: Uint8Array;
  ad: Uint8Array;
}

// The secret scalar lives outside the party object so that logging or serialising a party cannot
// leak it, and so a party object not made by cpaceStart cannot be finished.
const partyStates = new WeakMap<CpaceParty, PartyState>();

/** Computes this side's share. The PRS is used here and not kept. */
export function cpaceStart(role: CpaceRole, input: CpaceInput, randomScalar: () => bigint = sampleScalar): CpaceParty {
  const scalar = randomScalar();
  const message = scalarMult(scalar, calculateGenerator(input.prs, input.ci, input.sid));
  const party: CpaceParty = Object.freeze({ role, message: message.slice() });
  partyStates.set(party, { scalar, message, sid: input.sid.slice(), ad: input.ad.slice() });
  return party;
}

/**
 * The ISK (64 bytes) from the peer's share and associated data. A party finishes once: the draft
 * forbids reusing a scalar, and after a bad peer message it must abort, not try another.
 */
export function cpaceFinish(party: CpaceParty, peer: { message: Uint8Array; ad: Uint8Array }): Uint8Array {
  const state = takeState(party);
  const k = scalarMultVfy(state.scalar, peer.message);
  if (isIdentity(k)) {
    throw new BotsyncError('PAIRING_TAMPERED', "The other machine's pairing message is not a valid CPace share, so pairing stopped.", {
      hint: 'Start pairing again with a new code. If it happens again, something between the machines is altering messages: try another relay (--relay / BOTSYNC_RELAY).',
    });
  }
  const transcript =
    party.role === 'initiator'
      ? transcriptIr(state.message, state.ad, peer.message, peer.ad)
      : transcriptIr(peer.message, peer.ad, state.message, state.ad);
  return intermediateSessionKey(state.sid, k, transcript);
}

function takeState(party: CpaceParty): PartyState {
  const state = partyStates.get(party);
  if (state === undefined) {
    throw new BotsyncError('INTERNAL', 'A CPace party was finished twice, or was not made by cpaceStart.');
  }
  partyStates.delete(party);
  return state;
}

function decodeElement(encoded: Uint8Array): RistrettoPoint | undefined {
  if (encoded.length !== ELEMENT_BYTES) return undefined;
  try {
    return ristretto255.Point.fromBytes(encoded);
  } catch {
    // RFC 9496 decoding rejects non-canonical and off-group encodings by throwing; the draft maps
    // every such failure to G.I, so the caller has one abort condition to check.
    return undefined;
  }
}

function checkedScalar(y: bigint): bigint {
  if (y <= 0n || y >= GROUP_ORDER) {
    throw new BotsyncError('INTERNAL', 'A CPace scalar is outside 1 .. group order - 1.');
  }
  return y;
}

function elementDerivation(uniformBytes: Uint8Array): RistrettoPoint {
  // Typed optional because other curves' hashers lack it; ristretto255's always has it.
  if (ristretto255_hasher.deriveToCurve === undefined) {
    throw new BotsyncError('INTERNAL', '@noble/curves no longer provides ristretto255 element derivation.');
  }
  return ristretto255_hasher.deriveToCurve(uniformBytes);
}
