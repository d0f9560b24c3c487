import { describe, expect, it } from 'vitest';
import { quote } from '../../src/notify/format.js';
import { decodeMachineDetails, isMachineName } from '../../src/pairing/details.js';

/** Names come from peers and are shown in terminals and to agents: none may hide or disguise text. */
describe('isMachineName', () => {
  it('takes ordinary names, spaces, punctuation and letters of any script', () => {
    for (const name of ['laptop2', "Bob's laptop", 'x$(date)', 'büro-rechner', 'ноутбук', 'a'.repeat(64)]) expect(isMachineName(name), name).toBe(true);
  });

  it('refuses empty and overlong names, and every control, invisible or direction-changing character', () => {
    const hidden = ['\u0000', '\n', '\u001f', '\u007f', '\u0085', '\u009f', '\u00ad', '\u061c', '\u200b', '\u200d', '\u200e', '\u2028', '\u202e', '\u2066', '\ufeff', '\u{e0041}'];
    for (const char of hidden) {
      expect(isMachineName(`bob${char}laptop`), quote(char)).toBe(false);
      // The same set quote() escapes: a refused character is one it would not show as itself.
      expect(quote(char), quote(char)).toMatch(/^"\\/);
    }
    expect(isMachineName('')).toBe(false);
    expect(isMachineName('a'.repeat(65))).toBe(false);
  });

  it('refuses pairing details naming a machine with a right-to-left override', () => {
    const details = { deviceId: 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD', name: 'bob\u202etxt.exe', addresses: [], role: 'agent' };
    expect(() => decodeMachineDetails(new TextEncoder().encode(JSON.stringify(details)))).toThrow(expect.objectContaining({ code: 'PAIRING_MALFORMED' }));
    expect(decodeMachineDetails(new TextEncoder().encode(JSON.stringify({ ...details, name: 'bob' }))).name).toBe('bob');
  });
});
