import { utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { BotsyncError } from '../../src/errors.js';
import { cpaceFinish, cpaceStart } from '../../src/pairing/cpace.js';
import {
  CONFIRMATION_TAG_BYTES,
  PAIRING_CI,
  PAIRING_SID_BYTES,
  confirmationTag,
  deriveSessionKeys,
  fromBase64Url,
  newPairingSid,
  open,
  seal,
  toBase64Url,
  verifyConfirmation,
  type PairingContext,
  type PairingSide,
  type SessionKeys,
} from '../../src/pairing/session.js';

const NAMEPLATE = '1234-7';
const HOST_AD = utf8ToBytes('host');
const GUEST_AD = utf8ToBytes('guest');

interface Exchange {
  context: PairingContext;
  host: SessionKeys;
  guest: SessionKeys;
}

/** One honest run of CPace and the key schedule, each side with the code it typed. */
function exchange(hostCode = 'bacon-ladder-mango', guestCode = hostCode): Exchange {
  const sid = newPairingSid();
  const hostParty = cpaceStart('initiator', { prs: utf8ToBytes(hostCode), ci: PAIRING_CI, sid, ad: HOST_AD });
  const guestParty = cpaceStart('responder', { prs: utf8ToBytes(guestCode), ci: PAIRING_CI, sid, ad: GUEST_AD });
  const context = { nameplate: NAMEPLATE, hostMessage: hostParty.message, guestMessage: guestParty.message };
  return {
    context,
    host: deriveSessionKeys(cpaceFinish(hostParty, { message: guestParty.message, ad: GUEST_AD }), context),
    guest: deriveSessionKeys(cpaceFinish(guestParty, { message: hostParty.message, ad: HOST_AD }), context),
  };
}

function thrown(action: () => unknown): BotsyncError {
  try {
    action();
  } catch (error) {
    if (error instanceof BotsyncError) return error;
    throw error;
  }
  throw new Error('expected a BotsyncError');
}

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= 0x01;
  return copy;
}

const OTHER: Record<PairingSide, PairingSide> = { host: 'guest', guest: 'host' };

describe('pairing session: key confirmation', () => {
  it('tags verify in both directions after an honest exchange', () => {
    const { context, host, guest } = exchange();
    const hostTag = confirmationTag(host, 'host', context);
    const guestTag = confirmationTag(guest, 'guest', context);
    expect(hostTag).toHaveLength(CONFIRMATION_TAG_BYTES);
    expect(() => verifyConfirmation(guest, 'host', context, hostTag)).not.toThrow();
    expect(() => verifyConfirmation(host, 'guest', context, guestTag)).not.toThrow();
  });

  it('a wrong code fails the confirmation on both sides as PAIRING_WRONG_CODE', () => {
    const { context, host, guest } = exchange('bacon-ladder-mango', 'bacon-ladder-mangp');
    for (const error of [
      thrown(() => verifyConfirmation(guest, 'host', context, confirmationTag(host, 'host', context))),
      thrown(() => verifyConfirmation(host, 'guest', context, confirmationTag(guest, 'guest', context))),
    ]) {
      expect(error.code).toBe('PAIRING_WRONG_CODE');
      expect(error.message).toMatch(/code did not match on both machines/);
      expect(error.hint).toBeDefined();
    }
  });

  it('a flipped bit in the nameplate, either message or the tag fails', () => {
    const { context, host, guest } = exchange();
    const hostTag = confirmationTag(host, 'host', context);
    const altered: [string, PairingContext, Uint8Array][] = [
      ['nameplate', { ...context, nameplate: '1234-6' }, hostTag],
      ['host message', { ...context, hostMessage: flipBit(context.hostMessage, 0) }, hostTag],
      ['guest message', { ...context, guestMessage: flipBit(context.guestMessage, 31) }, hostTag],
      ['tag, first byte', context, flipBit(hostTag, 0)],
      ['tag, last byte', context, flipBit(hostTag, hostTag.length - 1)],
      ['tag, truncated', context, hostTag.subarray(0, 32)],
      ['tag, empty', context, new Uint8Array(0)],
    ];
    for (const [what, seenByGuest, tag] of altered) {
      expect(thrown(() => verifyConfirmation(guest, 'host', seenByGuest, tag)).code, what).toBe('PAIRING_WRONG_CODE');
    }
  });

  it('the keys themselves depend on the nameplate and both messages', () => {
    const { context, host } = exchange();
    const isk = new Uint8Array(64).fill(7);
    const base = deriveSessionKeys(isk, context);
    for (const changed of [
      { ...context, nameplate: '1234-6' },
      { ...context, hostMessage: flipBit(context.hostMessage, 5) },
      { ...context, guestMessage: flipBit(context.guestMessage, 5) },
    ]) {
      expect(deriveSessionKeys(isk, changed).confirm.host).not.toEqual(base.confirm.host);
    }
    expect(host.confirm.host).not.toEqual(base.confirm.host);
  });

  it("one side's tag is not accepted as the other's", () => {
    const { context, host, guest } = exchange();
    for (const side of ['host', 'guest'] as const) {
      const keys = side === 'host' ? host : guest;
      const tag = confirmationTag(keys, side, context);
      expect(thrown(() => verifyConfirmation(keys, OTHER[side], context, tag)).code).toBe('PAIRING_WRONG_CODE');
    }
  });

  it('derives four different keys, the same on both sides', () => {
    const { host, guest } = exchange();
    const keys = [host.confirm.host, host.confirm.guest, host.aead.host, host.aead.guest];
    for (const key of keys) expect(key).toHaveLength(32);
    expect(new Set(keys.map((key) => toBase64Url(key))).size).toBe(4);
    expect(guest).toEqual(host);
  });

  it('refuses an ISK that is not 64 bytes', () => {
    const { context } = exchange();
    expect(thrown(() => deriveSessionKeys(new Uint8Array(32), context)).code).toBe('INTERNAL');
  });
});

describe('pairing session: sealing', () => {
  const aad = utf8ToBytes('pairing transcript');
  const details = utf8ToBytes('{"deviceId":"ABCDEFG-..."}');

  it('round-trips in both directions with AAD', () => {
    const { host, guest } = exchange();
    expect(open(guest, 'host', seal(host, 'host', details, aad), aad)).toEqual(details);
    expect(open(host, 'guest', seal(guest, 'guest', details, aad), aad)).toEqual(details);
    expect(open(host, 'guest', seal(guest, 'guest', new Uint8Array(0), aad), aad)).toEqual(new Uint8Array(0));
  });

  it('uses a fresh nonce for every message', () => {
    const { host } = exchange();
    expect(seal(host, 'host', details, aad)).not.toEqual(seal(host, 'host', details, aad));
  });

  it('rejects tampered ciphertext, nonce, tag or AAD, a short input and the wrong direction', () => {
    const { host, guest } = exchange();
    const sealed = seal(host, 'host', details, aad);
    const cases: [string, () => unknown][] = [
      ['nonce', () => open(guest, 'host', flipBit(sealed, 0), aad)],
      ['ciphertext', () => open(guest, 'host', flipBit(sealed, 24), aad)],
      ['poly1305 tag', () => open(guest, 'host', flipBit(sealed, sealed.length - 1), aad)],
      ['aad', () => open(guest, 'host', sealed, flipBit(aad, 3))],
      ['missing aad', () => open(guest, 'host', sealed, new Uint8Array(0))],
      ['truncated', () => open(guest, 'host', sealed.subarray(0, sealed.length - 1), aad)],
      ['shorter than nonce and tag', () => open(guest, 'host', sealed.subarray(0, 39), aad)],
      ['empty', () => open(guest, 'host', new Uint8Array(0), aad)],
      ['reflected back to its sender as if from the other side', () => open(host, 'guest', sealed, aad)],
      ['keys from a wrong code', () => open(exchange('bacon-ladder-mango', 'bacon-ladder-mangp').guest, 'host', sealed, aad)],
    ];
    for (const [what, action] of cases) {
      expect(thrown(action).code, what).toBe('PAIRING_TAMPERED');
    }
  });
});

describe('pairing session: helpers', () => {
  it('draws a fresh sid', () => {
    expect(newPairingSid()).toHaveLength(PAIRING_SID_BYTES);
    expect(newPairingSid()).not.toEqual(newPairingSid());
  });

  it('base64url round-trips and refuses text that is not canonical base64url', () => {
    for (const length of [0, 1, 2, 3, 32, 64, 100]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff);
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
    }
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    for (const bad of ['-_8=', '+/8', 'ab c', 'A', '-_9', 'ab\n']) {
      expect(thrown(() => fromBase64Url(bad)).code, bad).toBe('PAIRING_TAMPERED');
    }
  });

  it('encodes a subarray without the bytes around it', () => {
    const whole = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(fromBase64Url(toBase64Url(whole.subarray(1, 3)))).toEqual(Uint8Array.from([2, 3]));
  });
});
