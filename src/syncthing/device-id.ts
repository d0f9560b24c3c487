import { BotsyncError } from '../errors.js';

/**
 * Syncthing device IDs: 52 base32 characters of a certificate hash, split in four groups of 13, each
 * followed by a check character, shown as eight dash-separated groups of seven. The check character
 * is Syncthing's own "luhn32", which is not textbook Luhn mod N (lib/protocol/luhn.go) - it must
 * match Syncthing bit for bit or valid IDs would be refused.
 */

export const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function luhn32(chars: string): string {
  let factor = 1;
  let sum = 0;
  for (const ch of chars) {
    const codepoint = ALPHABET.indexOf(ch);
    let addend = factor * codepoint;
    factor = factor === 2 ? 1 : 2;
    addend = Math.floor(addend / 32) + (addend % 32);
    sum += addend;
  }
  return ALPHABET[(32 - (sum % 32)) % 32]!;
}

/**
 * Returns the canonical form (upper case, dashes every seven characters) of a device ID typed in any
 * case, with or without dashes or spaces, or throws BAD_DEVICE_ID saying what is wrong with it.
 */
export function parseDeviceId(input: string): string {
  // Syncthing reads the easily confused 0, 1 and 8 as O, I and B; so do we.
  const compact = input
    .trim()
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/0/g, 'O')
    .replace(/1/g, 'I')
    .replace(/8/g, 'B');
  const bad = (why: string) =>
    new BotsyncError('BAD_DEVICE_ID', `"${input}" is not a Syncthing device ID: ${why}.`, {
      hint: 'Copy the ID exactly as `botsync status` prints it on the other machine (eight groups of seven characters).',
    });
  if (compact.length !== 56) throw bad(`it has ${compact.length} characters, not 56`);
  const invalid = [...compact].find((ch) => !ALPHABET.includes(ch));
  if (invalid !== undefined) throw bad(`"${invalid}" is not a valid character`);
  for (let group = 0; group < 4; group++) {
    const chunk = compact.slice(group * 14, group * 14 + 13);
    const check = compact[group * 14 + 13];
    if (luhn32(chunk) !== check) throw bad(`check character ${group + 1} of 4 is wrong (a typo?)`);
  }
  return compact.match(/.{7}/g)!.join('-');
}

/** The short form Syncthing itself logs: the first group. */
export function shortDeviceId(deviceId: string): string {
  return deviceId.slice(0, 7);
}
