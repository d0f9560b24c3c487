import { randomBytes } from 'node:crypto';
import { BotsyncError } from '../errors.js';

/**
 * A snapshot is two remote objects: `<name>.tar.age` (the encrypted tar, uploaded as
 * `<name>.tar.age.partial` and renamed whole) and `<name>.manifest.json`, written last. Only snapshots
 * with both exist for list, restore and prune: a backup cut off at any point leaves at most a
 * `.partial` or an object without a manifest, never something that looks complete.
 */
export interface Manifest {
  version: 1;
  name: string;
  created: string;
  host: string;
  botsync: string;
  /** Size and SHA-256 of the encrypted object, as stored. */
  bytes: number;
  sha256: string;
  /** tar entries: files, directories and links. */
  files: number;
  encryption: 'x25519' | 'scrypt';
}

/** Sorts by time, never collides: UTC to the millisecond plus a random suffix. */
export function newSnapshotName(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace('.', '')}-${randomBytes(3).toString('hex')}`;
}

export const MANIFEST_SUFFIX = '.manifest.json';
export const OBJECT_SUFFIX = '.tar.age';
export const PARTIAL_SUFFIX = '.tar.age.partial';
export const objectName = (name: string) => `${name}${OBJECT_SUFFIX}`;
export const manifestName = (name: string) => `${name}${MANIFEST_SUFFIX}`;
export const partialName = (name: string) => `${name}${PARTIAL_SUFFIX}`;

export function parseManifest(text: string, where: string): Manifest {
  let value: Manifest;
  try {
    value = JSON.parse(text) as Manifest;
  } catch (error) {
    throw new BotsyncError('BACKUP_CORRUPT', `The manifest ${where} is not valid JSON.`, { hint: 'That snapshot cannot be trusted; restore another one.', cause: error });
  }
  if (value.version !== 1 || typeof value.name !== 'string' || !/^[0-9a-f]{64}$/.test(value.sha256) || !Number.isSafeInteger(value.bytes) || !Number.isSafeInteger(value.files)) {
    throw new BotsyncError('BACKUP_CORRUPT', `The manifest ${where} is incomplete.`, { hint: 'That snapshot cannot be trusted; restore another one.' });
  }
  return value;
}
