import { X509Certificate, createHash } from 'node:crypto';
import { ALPHABET, luhn32 } from './device-id.js';

// Apart from device-id.ts so that reading device IDs (the CLI's start path) does not load node:crypto.

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
