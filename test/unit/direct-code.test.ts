import { describe, expect, it } from 'vitest';
import { authenticationString, formatDirectCode, isDirectCode, parseDirectCode } from '../../src/pairing/direct-code.js';
import { rejection } from '../helpers/rejection.js';

const A = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';
const details = { deviceId: A, name: 'agent-box', addresses: ['tcp://127.0.0.1:22000'], role: 'agent' as const };

describe('direct codes', () => {
  it('round-trip the public details', () => {
    const code = formatDirectCode(details);
    expect(isDirectCode(code)).toBe(true);
    expect(isDirectCode('ocean-tiger-bacon-ladder-mango')).toBe(false);
    expect(parseDirectCode(`  ${code}\n`)).toEqual(details);
  });

  it('refuses a damaged code with a hint, as bad input', async () => {
    const code = formatDirectCode(details);
    for (const damaged of [code.slice(0, -5), `${code}!`, 'bs1.', `bs1.${Buffer.from('{"deviceId":"X"}').toString('base64url')}`]) {
      const error = await rejection(Promise.resolve().then(() => parseDirectCode(damaged)));
      expect(error.code).toBe('BAD_CODE');
      expect(error.exitCode).toBe(2);
    }
  });

  it('gives both machines the same short authentication string, and another pair another one', () => {
    const B = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
    expect(authenticationString(A, B)).toBe(authenticationString(B, A));
    expect(authenticationString(A, B)).toMatch(/^\d{3} \d{3}$/);
    expect(authenticationString(A, B)).not.toBe(authenticationString(A, A));
  });
});
