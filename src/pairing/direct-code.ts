import { createHash } from 'node:crypto';
import { BotsyncError } from '../errors.js';
import { decodeMachineDetails, encodeDetails, type MachineDetails } from './details.js';

/**
 * Direct codes pair machines without the relay (offline, or relay unreachable). A direct code carries
 * only public data (device ID, name, addresses, role), so it protects nothing by itself: each side adds
 * the other's code, and both show a short authentication string derived from the two device IDs. Equal
 * strings on both screens prove each machine added the other and not an impostor.
 */

const PREFIX = 'bs1.';

export function isDirectCode(input: string): boolean {
  return input.trim().startsWith(PREFIX);
}

export function formatDirectCode(details: MachineDetails): string {
  return PREFIX + Buffer.from(encodeDetails(details)).toString('base64url');
}

export function parseDirectCode(input: string): MachineDetails {
  const text = input.trim();
  const bad = (cause?: unknown) =>
    new BotsyncError('BAD_CODE', 'This direct code is damaged (it did not decode).', {
      hint: 'Copy the whole code, from "bs1." to its last character, exactly as the other machine printed it.',
      cause,
    });
  if (!text.startsWith(PREFIX) || !/^[A-Za-z0-9_-]+$/.test(text.slice(PREFIX.length))) throw bad();
  try {
    return decodeMachineDetails(Buffer.from(text.slice(PREFIX.length), 'base64url'));
  } catch (error) {
    throw bad(error);
  }
}

/** Six digits from both device IDs, the same on both machines whichever added which. */
export function authenticationString(deviceA: string, deviceB: string): string {
  const [first, second] = [deviceA, deviceB].sort();
  const digest = createHash('sha256').update(`botsync-sas-v1\n${first}\n${second}`).digest();
  const number = digest.readUInt32BE(0) % 1_000_000;
  const digits = number.toString().padStart(6, '0');
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}
