import { randomBytes } from 'node:crypto';
import { BotsyncError } from '../errors.js';

/**
 * A snapshot is two remote objects: `<name>.tar.age` (the encrypted tar, uploaded as
 * `<name>.tar.age.partial` and renamed whole) and `<name>.manifest.json`, written last. Only snapshots
 * with both exist for list, restore and prune: a backup cut off at any point leaves at most a
 * `.partial` or an object without a manifest, never something that looks complete.
 *
 * Anyone who can write to the remote can write a manifest, so nothing in one is used as a path: a
 * snapshot's name is its manifest's file name as the remote lists it, which must match the name
 * pattern and the `name` inside.
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
  /** The public key of the home that wrote it, and its Ed25519 signature (signing.ts); absent in snapshots from before signing. */
  signer?: string;
  signature?: string;
}

/** newSnapshotName's shape: nothing else is a snapshot, so no name can hold a path separator or "..". */
const SNAPSHOT_NAME = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;

/** Sorts by time, never collides: UTC to the millisecond plus a random suffix. */
export function newSnapshotName(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace('.', '')}-${randomBytes(3).toString('hex')}`;
}

/** When a snapshot was taken, from its validated name: unlike `created`, not a field a forger fills in freely. */
export function snapshotTime(name: string): Date {
  const [, y, mo, d, h, mi, s, ms] = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/.exec(name)!;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms)));
}

export const MANIFEST_SUFFIX = '.manifest.json';
export const OBJECT_SUFFIX = '.tar.age';
export const PARTIAL_SUFFIX = '.tar.age.partial';
export const objectName = (name: string) => `${name}${OBJECT_SUFFIX}`;
export const manifestName = (name: string) => `${name}${MANIFEST_SUFFIX}`;
export const partialName = (name: string) => `${name}${PARTIAL_SUFFIX}`;

/** The snapshot a listed file belongs to, by its suffix; undefined for a file that is not a snapshot's. */
export function snapshotFile(file: string): { name: string; kind: 'manifest' | 'object' | 'partial' } | undefined {
  for (const [suffix, kind] of [[MANIFEST_SUFFIX, 'manifest'], [OBJECT_SUFFIX, 'object'], [PARTIAL_SUFFIX, 'partial']] as const) {
    if (file.endsWith(suffix) && SNAPSHOT_NAME.test(file.slice(0, -suffix.length))) return { name: file.slice(0, -suffix.length), kind };
  }
  return undefined;
}

/** Parses the manifest stored as `file` (a name from the remote's listing); BACKUP_CORRUPT for anything but a well-formed one of that name. */
export function parseManifest(text: string, file: string): Manifest {
  const refuse = (why: string, cause?: unknown) =>
    new BotsyncError('BACKUP_CORRUPT', `The manifest ${file} ${why}.`, { hint: 'That snapshot cannot be trusted; restore another one.', cause });
  const expected = file.endsWith(MANIFEST_SUFFIX) ? file.slice(0, -MANIFEST_SUFFIX.length) : undefined;
  if (expected === undefined || !SNAPSHOT_NAME.test(expected)) throw refuse('is not named like a snapshot');
  let value: Manifest;
  try {
    value = JSON.parse(text) as Manifest;
  } catch (error) {
    throw refuse('is not valid JSON', error);
  }
  if (value === null || typeof value !== 'object') throw refuse('is not a JSON object');
  if (value.name !== expected) throw refuse(`names another snapshot (${JSON.stringify(value.name)})`);
  const counts = [value.bytes, value.files].every((count) => Number.isSafeInteger(count) && count >= 0);
  const texts = [value.host, value.botsync].every((field) => typeof field === 'string');
  if (value.version !== 1 || !/^[0-9a-f]{64}$/.test(value.sha256) || !counts || !texts || typeof value.created !== 'string' || Number.isNaN(Date.parse(value.created))) {
    throw refuse('is incomplete');
  }
  if (value.encryption !== 'x25519' && value.encryption !== 'scrypt') throw refuse(`has an unknown encryption ${JSON.stringify(value.encryption)}`);
  if ((value.signer !== undefined && typeof value.signer !== 'string') || (value.signature !== undefined && typeof value.signature !== 'string')) throw refuse('has a malformed signature');
  return value;
}
