/**
 * Bech32 (BIP 173, the original checksum constant 1, not bech32m), the encoding of age keys. age
 * lifts BIP 173's 90-character limit (an age secret key is 74 characters), so this does not
 * enforce it. Errors are plain Errors: callers know whether a bad string is a key, a recipient, or
 * a bug, and wrap them into a BotsyncError with the right hint.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3] as const;
const CHECKSUM_LENGTH = 6;

function polymod(values: readonly number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    GENERATOR.forEach((generator, bit) => {
      if ((top >>> bit) & 1) checksum ^= generator;
    });
  }
  return checksum;
}

/** The HRP enters the checksum as its high bits, a zero separator, then its low bits. */
function expandHrp(hrp: string): number[] {
  const codes = [...hrp].map((char) => char.charCodeAt(0));
  return [...codes.map((code) => code >>> 5), 0, ...codes.map((code) => code & 31)];
}

function checksumOf(hrp: string, data: readonly number[]): number[] {
  const mod = polymod([...expandHrp(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
  return Array.from({ length: CHECKSUM_LENGTH }, (_, i) => (mod >>> (5 * (CHECKSUM_LENGTH - 1 - i))) & 31);
}

/** Regroups bits; when decoding (pad false) leftover bits must be zero padding of under one group. */
function convertBits(data: ArrayLike<number>, fromBits: number, toBits: number, pad: boolean): number[] {
  let accumulator = 0;
  let bits = 0;
  const out: number[] = [];
  const maxValue = (1 << toBits) - 1;
  for (let i = 0; i < data.length; i++) {
    accumulator = (accumulator << fromBits) | (data[i] as number);
    bits += fromBits;
    while (bits >= toBits) {
      bits -= toBits;
      out.push((accumulator >>> bits) & maxValue);
    }
    accumulator &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((accumulator << (toBits - bits)) & maxValue);
  } else if (bits >= fromBits || ((accumulator << (toBits - bits)) & maxValue) !== 0) {
    throw new Error('bech32: non-zero or overlong padding');
  }
  return out;
}

/** Lower-case bech32 of bytes under a human-readable prefix. */
export function bech32Encode(hrp: string, bytes: Uint8Array): string {
  const lowerHrp = hrp.toLowerCase();
  const data = convertBits(bytes, 8, 5, true);
  const chars = [...data, ...checksumOf(lowerHrp, data)].map((value) => CHARSET[value]);
  return `${lowerHrp}1${chars.join('')}`;
}

/** Decodes an all-lower or all-upper bech32 string; the HRP comes back lower-case. */
export function bech32Decode(text: string): { hrp: string; bytes: Buffer } {
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) throw new Error('bech32: mixed case');
  const separator = lower.lastIndexOf('1');
  if (separator < 1 || separator + 1 + CHECKSUM_LENGTH > lower.length) throw new Error('bech32: missing separator or checksum');
  const hrp = lower.slice(0, separator);
  for (const char of hrp) {
    const code = char.charCodeAt(0);
    if (code < 33 || code > 126) throw new Error('bech32: invalid character in prefix');
  }
  const data = [...lower.slice(separator + 1)].map((char) => {
    const value = CHARSET.indexOf(char);
    if (value < 0) throw new Error(`bech32: invalid character ${JSON.stringify(char)}`);
    return value;
  });
  if (polymod([...expandHrp(hrp), ...data]) !== 1) throw new Error('bech32: checksum mismatch');
  return { hrp, bytes: Buffer.from(convertBits(data.slice(0, -CHECKSUM_LENGTH), 5, 8, false)) };
}
