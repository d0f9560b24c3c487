import { readFileSync } from 'node:fs';
import { ristretto255 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  DSI,
  IDENTITY,
  SHA512_BLOCK_BYTES,
  calculateGenerator,
  cpaceFinish,
  cpaceStart,
  generatorHash,
  generatorString,
  intermediateSessionKey,
  isIdentity,
  lvCat,
  prependLen,
  sampleScalar,
  scalarFromBytes,
  scalarMult,
  scalarMultVfy,
  transcriptIr,
  type CpaceInput,
} from '../../src/pairing/cpace.js';
import { rejection } from '../helpers/rejection.js';

// Verbatim from draft-irtf-cfrg-cpace-21, Appendices A.1, A.3 and B.3; see the file's _source.
const vectors = JSON.parse(readFileSync(new URL('../fixtures/cpace/draft-irtf-cfrg-cpace-21-ristretto255.json', import.meta.url), 'utf8')) as {
  stringUtilities: {
    prependLen: { input: string; output: string }[];
    lvCat: { inputs: string[]; output: string };
    transcriptIr: { ya: string; ada: string; yb: string; adb: string; output: string }[];
  };
  ristretto255: Record<string, string> & { zpadLength: number };
  ristretto255ScalarMult: { s: string; X: string; scalarMult: string; invalid: Record<string, string> };
};
const tv = vectors.ristretto255;
const hex = (name: string): Uint8Array => hexToBytes(tv[name] as string);

describe('CPace string utilities (draft appendix A)', () => {
  it('prepend_len encodes lengths as LEB128', () => {
    for (const { input, output } of vectors.stringUtilities.prependLen) {
      expect(bytesToHex(prependLen(hexToBytes(input)))).toBe(output);
    }
    expect(bytesToHex(prependLen(new Uint8Array(300)).subarray(0, 2))).toBe('ac02');
  });

  it('lv_cat', () => {
    const { inputs, output } = vectors.stringUtilities.lvCat;
    expect(bytesToHex(lvCat(...inputs.map(hexToBytes)))).toBe(output);
  });

  it('transcript_ir keeps the initiator first', () => {
    for (const { ya, ada, yb, adb, output } of vectors.stringUtilities.transcriptIr) {
      expect(bytesToHex(transcriptIr(hexToBytes(ya), hexToBytes(ada), hexToBytes(yb), hexToBytes(adb)))).toBe(output);
    }
  });
});

describe('CPACE-RISTR255-SHA512 test vectors (draft appendix B.3)', () => {
  const prs = hex('prs');
  const ci = hex('ci');
  const sid = hex('sid');
  const ya = scalarFromBytes(hex('ya'));
  const yb = scalarFromBytes(hex('yb'));

  it('B.3.1: generator string, its hash and the generator', () => {
    expect(bytesToHex(DSI)).toBe(tv.dsi);
    const genStr = generatorString(DSI, prs, ci, sid, SHA512_BLOCK_BYTES);
    expect(bytesToHex(genStr)).toBe(tv.generatorString);
    const paddingLengthByte = genStr[prependLen(DSI).length + prependLen(prs).length];
    expect(paddingLengthByte).toBe(vectors.ristretto255.zpadLength);
    expect(bytesToHex(generatorHash(prs, ci, sid))).toBe(tv.generatorHash);
    expect(bytesToHex(calculateGenerator(prs, ci, sid).toBytes())).toBe(tv.generator);
  });

  it('B.3.2 / B.3.3: both shares from the given scalars', () => {
    const g = calculateGenerator(prs, ci, sid);
    expect(bytesToHex(scalarMult(ya, g))).toBe(tv.Ya);
    expect(bytesToHex(scalarMult(yb, g))).toBe(tv.Yb);
  });

  it('B.3.4: both sides reach the same K', () => {
    expect(bytesToHex(scalarMultVfy(ya, hex('Yb')))).toBe(tv.K);
    expect(bytesToHex(scalarMultVfy(yb, hex('Ya')))).toBe(tv.K);
  });

  it('B.3.5: transcript_ir and ISK for initiator/responder', () => {
    const transcript = transcriptIr(hex('Ya'), hex('ada'), hex('Yb'), hex('adb'));
    expect(bytesToHex(transcript)).toBe(tv.transcriptIr);
    expect(bytesToHex(concatBytes(DSI, utf8ToBytes('_ISK')))).toBe(tv.dsiIsk);
    expect(bytesToHex(concatBytes(lvCat(hexToBytes(tv.dsiIsk as string), sid, hex('K')), transcript))).toBe(tv.iskInputIr);
    expect(bytesToHex(intermediateSessionKey(sid, hex('K'), transcript))).toBe(tv.iskIr);
  });

  it('B.3.5 through the high-level API, from both roles', () => {
    const input = (ad: Uint8Array): CpaceInput => ({ prs, ci, sid, ad });
    const initiator = cpaceStart('initiator', input(hex('ada')), () => ya);
    const responder = cpaceStart('responder', input(hex('adb')), () => yb);
    expect(bytesToHex(initiator.message)).toBe(tv.Ya);
    expect(bytesToHex(responder.message)).toBe(tv.Yb);
    expect(bytesToHex(cpaceFinish(initiator, { message: responder.message, ad: hex('adb') }))).toBe(tv.iskIr);
    expect(bytesToHex(cpaceFinish(responder, { message: initiator.message, ad: hex('ada') }))).toBe(tv.iskIr);
  });

  // botsync runs only the initiator-responder variant; these check the draft's remaining B.3 outputs
  // from the same K and shares, so every ristretto255 vector is accounted for.
  it('B.3.6 / B.3.7: ordered-concatenation ISK and optional sid outputs', () => {
    const transcriptOc = orderedConcat(lvCat(hex('Ya'), hex('ada')), lvCat(hex('Yb'), hex('adb')));
    expect(bytesToHex(transcriptOc)).toBe(tv.transcriptOc);
    expect(bytesToHex(intermediateSessionKey(sid, hex('K'), transcriptOc))).toBe(tv.iskOc);
    const sidOutput = (transcript: Uint8Array): string => bytesToHex(sha512(concatBytes(utf8ToBytes('CPaceSidOutput'), transcript)));
    expect(sidOutput(hex('transcriptIr'))).toBe(tv.sidOutputIr);
    expect(sidOutput(transcriptOc)).toBe(tv.sidOutputOc);
  });

  it('B.3.10: scalar_mult and scalar_mult_vfy agree on a valid point', () => {
    const { s, X, scalarMult: expected } = vectors.ristretto255ScalarMult;
    const scalar = scalarFromBytes(hexToBytes(s));
    expect(bytesToHex(scalarMultVfy(scalar, hexToBytes(X)))).toBe(expected);
    expect(bytesToHex(scalarMult(scalar, ristretto255.Point.fromBytes(hexToBytes(X))))).toBe(expected);
  });

  it('B.3.11: invalid encodings and the neutral element give G.I', () => {
    const { s, invalid } = vectors.ristretto255ScalarMult;
    const scalar = scalarFromBytes(hexToBytes(s));
    expect(Object.keys(invalid)).toEqual(['Y_i1', 'Y_i2']);
    for (const encoded of Object.values(invalid)) {
      expect(scalarMultVfy(scalar, hexToBytes(encoded))).toEqual(IDENTITY);
    }
  });

  it('B.3.11: those points in a message from A or B abort the protocol', async () => {
    for (const encoded of Object.values(vectors.ristretto255ScalarMult.invalid)) {
      for (const role of ['initiator', 'responder'] as const) {
        const party = cpaceStart(role, { prs, ci, sid, ad: new Uint8Array(0) });
        const error = await rejection(Promise.resolve().then(() => cpaceFinish(party, { message: hexToBytes(encoded), ad: new Uint8Array(0) })));
        expect(error.code).toBe('PAIRING_TAMPERED');
      }
    }
  });
});

describe('CPace between two parties', () => {
  const ci = utf8ToBytes('botsync-pair-v1');
  const sid = new Uint8Array(0);
  const start = (role: 'initiator' | 'responder', code: string) =>
    cpaceStart(role, { prs: utf8ToBytes(code), ci, sid, ad: utf8ToBytes(role === 'initiator' ? 'host' : 'guest') });
  const run = (hostCode: string, guestCode: string): [Uint8Array, Uint8Array] => {
    const host = start('initiator', hostCode);
    const guest = start('responder', guestCode);
    return [
      cpaceFinish(host, { message: guest.message, ad: utf8ToBytes('guest') }),
      cpaceFinish(guest, { message: host.message, ad: utf8ToBytes('host') }),
    ];
  };

  it('agree on a 64-byte ISK when the code matches, and a fresh one each run', () => {
    const [host, guest] = run('bacon-ladder-mango', 'bacon-ladder-mango');
    expect(host).toHaveLength(64);
    expect(guest).toEqual(host);
    expect(run('bacon-ladder-mango', 'bacon-ladder-mango')[0]).not.toEqual(host);
  });

  it('disagree when the code differs', () => {
    const [host, guest] = run('bacon-ladder-mango', 'bacon-ladder-mangp');
    expect(guest).not.toEqual(host);
  });

  it('disagree when the associated data seen by the two sides differs', () => {
    const host = start('initiator', 'bacon-ladder-mango');
    const guest = start('responder', 'bacon-ladder-mango');
    const hostIsk = cpaceFinish(host, { message: guest.message, ad: utf8ToBytes('guest') });
    const guestIsk = cpaceFinish(guest, { message: host.message, ad: utf8ToBytes('hosT') });
    expect(guestIsk).not.toEqual(hostIsk);
  });

  it('reject shares of the wrong length, the identity and non-canonical encodings', async () => {
    const valid = start('responder', 'bacon-ladder-mango').message;
    const malformed = [new Uint8Array(0), valid.subarray(0, 31), concatBytes(valid, new Uint8Array(1)), IDENTITY, new Uint8Array(32).fill(0xff)];
    for (const message of malformed) {
      const party = start('initiator', 'bacon-ladder-mango');
      const error = await rejection(Promise.resolve().then(() => cpaceFinish(party, { message, ad: new Uint8Array(0) })));
      expect(error.code).toBe('PAIRING_TAMPERED');
    }
  });

  it('finish a party only once', async () => {
    const host = start('initiator', 'bacon-ladder-mango');
    const guest = start('responder', 'bacon-ladder-mango');
    cpaceFinish(host, { message: guest.message, ad: new Uint8Array(0) });
    const error = await rejection(Promise.resolve().then(() => cpaceFinish(host, { message: guest.message, ad: new Uint8Array(0) })));
    expect(error.code).toBe('INTERNAL');
  });

  it('samples scalars below 2^252 and never zero', () => {
    for (let i = 0; i < 64; i++) {
      const scalar = sampleScalar();
      expect(scalar > 0n && scalar < 1n << 252n).toBe(true);
    }
    expect(isIdentity(IDENTITY)).toBe(true);
  });
});

/** o_cat from the draft's appendix A.3.2, for the parallel-setting vectors only. */
function orderedConcat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes('oc'), ...(larger(a, b) ? [a, b] : [b, a]));
}

function larger(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! > b[i]!;
  }
  return a.length > b.length;
}
