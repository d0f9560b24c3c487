import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { BotsyncError } from '../errors.js';
import { fileIdentity } from '../lib/file-identity.js';
import { readStateText } from '../lib/state-file.js';
import { deviceIdFromCertificate } from './certificate-id.js';

const KEY_FILES = ['cert.pem', 'key.pem'] as const;

/**
 * A device's identity is its key pair (cert.pem, key.pem in the Syncthing home). Syncthing makes a new
 * one when it finds none, and becomes a device no peer knows: so botsync checks the pair against the
 * device ID it was paired as before Syncthing starts, and never lets that happen silently.
 */
export type DeviceKeyState = { state: 'ok' } | { state: 'missing'; files: string[] } | { state: 'changed'; deviceId: string };

export async function deviceKeyState(syncthingHome: string, expectedId: string): Promise<DeviceKeyState> {
  const [cert, key] = await Promise.all(KEY_FILES.map((file) => readStateText(join(syncthingHome, file))));
  const missing = [cert === undefined ? 'cert.pem' : undefined, key === undefined ? 'key.pem' : undefined].filter((file) => file !== undefined);
  if (missing.length > 0) return { state: 'missing', files: missing };
  let deviceId: string;
  try {
    deviceId = deviceIdFromCertificate(cert!);
  } catch (error) {
    throw new BotsyncError('DEVICE_KEY_LOST', `${join(syncthingHome, 'cert.pem')} is not a certificate: ${(error as Error).message}.`, { hint: deviceKeyHint(syncthingHome), cause: error });
  }
  return deviceId === expectedId ? { state: 'ok' } : { state: 'changed', deviceId };
}

/**
 * deviceKeyState for a process that asks it often (the daemon, at every `status`): cert.pem is read and
 * hashed again only when one of the two files changed (a replacement, write or chmod changes a file's
 * identity), otherwise two lstats answer. Each file is looked at before it is read, so a change while
 * it is read shows at the next call.
 */
export function cachedDeviceKeyState(): typeof deviceKeyState {
  let last: { key: string; state: DeviceKeyState } | undefined;
  return async (syncthingHome, expectedId) => {
    // A file that cannot be looked at is not kept: deviceKeyState says what is wrong with it.
    const stats = await Promise.all(KEY_FILES.map((file) => lstat(join(syncthingHome, file), { bigint: true }).catch(() => undefined)));
    const key = stats.every((file) => file !== undefined) ? [syncthingHome, expectedId, ...stats.map(fileIdentity)].join('\0') : undefined;
    if (key !== undefined && last?.key === key) return last.state;
    const state = await deviceKeyState(syncthingHome, expectedId);
    last = key === undefined ? undefined : { key, state };
    return state;
  };
}

/** Refuses to go on with a lost or replaced key, saying how to get the device back or start anew. */
export async function requireDeviceKey(syncthingHome: string, expectedId: string): Promise<void> {
  const key = await deviceKeyState(syncthingHome, expectedId);
  if (key.state === 'ok') return;
  throw new BotsyncError('DEVICE_KEY_LOST', deviceKeyProblem(syncthingHome, expectedId, key), { hint: deviceKeyHint(syncthingHome) });
}

export function deviceKeyProblem(syncthingHome: string, expectedId: string, key: Exclude<DeviceKeyState, { state: 'ok' }>): string {
  return key.state === 'missing'
    ? `This device's key is gone (${key.files.join(' and ')} missing in ${syncthingHome}): started as it is, Syncthing would become a new device that no peer knows.`
    : `This device's key was replaced: cert.pem is device ${key.deviceId}, but this home was paired as ${expectedId}.`;
}

export function deviceKeyHint(syncthingHome: string): string {
  return `Restore cert.pem and key.pem from a backup into ${syncthingHome}. To go on as a new device instead, remove ${join(syncthingHome, 'config.xml')}, run \`botsync init --force\`, and pair the other machines again.`;
}
