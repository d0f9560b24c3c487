/** Randomness and hashing for tokens and nameplates. Only Web Crypto, so it runs unchanged in workerd. */
import { NAMEPLATE_WORDS, type Nameplate } from './wire.js';

/** 256 bits, base64url: unguessable, and safe in an Authorization header without escaping. */
export function newToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The mailbox keeps only this, so a leak of its storage does not hand out working tokens. */
export async function tokenHash(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Compares two hashes without an early exit; the inputs are digests, but there is no reason to leak more than needed. */
export function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function randomNameplate(): Nameplate {
  // 2048 divides 2^32, so a plain modulo has no bias.
  const [i = 0, j = 0] = crypto.getRandomValues(new Uint32Array(2));
  return `${i % NAMEPLATE_WORDS}-${j % NAMEPLATE_WORDS}`;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
