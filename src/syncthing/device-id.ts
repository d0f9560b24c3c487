import { X509Certificate, createHash } from 'node:crypto';
import { BotsyncError } from '../errors.js';

/**
 * Syncthing device IDs: 52 base32 characters of a certificate hash, split in four groups of 13, each
 * followed by a check character, shown as eight dash-separated groups of seven. The check character
 * is Syncthing's own "luhn32", which is not textbook Luhn mod N (lib/protocol/luhn.go) - it must
 * match Syncthing bit for bit or valid IDs would be refused.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function luhn32(chars: string): string {
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

/**
 * The device ID of a certificate, computed the way Syncthing does (SHA-256 of the DER bytes), so the
 * ID is known from cert.pem without asking a particular Syncthing version to print it.
 */
export function deviceIdFromCertificate(pem: string): string {
  return deviceIdFromDer(new X509Certificate(pem).raw);
}

/** The device ID of a certificate in DER form, as a TLS peer presents it. */
export function deviceIdFromDer(der: Uint8Array): string {
  const digest = createHash('sha256').update(der).digest();
  const base32 = toBase32(digest).slice(0, 52);
  let withChecks = '';
  for (let group = 0; group < 4; group++) {
    const chunk = base32.slice(group * 13, group * 13 + 13);
    withChecks += chunk + luhn32(chunk);
  }
  return withChecks.match(/.{7}/g)!.join('-');
}

function toBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The short form Syncthing itself logs: the first group. */
export function shortDeviceId(deviceId: string): string {
  return deviceId.slice(0, 7);
}
