import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from 'node:crypto';
import { link, rm } from 'node:fs/promises';
import { BotsyncError, errnoCode } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import { corruptState, readJsonFile, writeFileAtomic } from '../lib/state-file.js';
import type { Manifest } from './manifest.js';

/**
 * Who wrote a snapshot. A passphrase snapshot needs nothing more to be read safely: age's scrypt
 * stanza and header MAC can only be made by someone who knows the passphrase. A recipient snapshot
 * can be made by anyone holding the recipient's public key. So every manifest is signed with the
 * writing home's Ed25519 key: it authenticates recipient snapshots, and it tells prune which
 * snapshots are this home's before anything is downloaded, whatever mode (a manifest alone, written
 * by anyone with access to the remote, must not make prune delete real snapshots). The
 * manifest carries the object's size and SHA-256, which binds the signature to the data, and the
 * name and host, which bind it to its place. The object itself stays a plain age file, so
 * `rclone cat | age -d | tar -x` still restores it.
 */

const SIGNER_PREFIX = 'ed25519:';
/** Domain separation: these bytes can never be mistaken for another message this key signs. */
const SIGNED_CONTEXT = 'botsync snapshot manifest v1\n';
/** What the signature covers, in this order; signer included, so a signature cannot be moved to another key's name. */
const SIGNED_FIELDS = ['version', 'name', 'created', 'host', 'botsync', 'bytes', 'sha256', 'files', 'encryption', 'signer'] as const;

export interface SigningKey {
  /** `ed25519:` and the base64url public key: what `backup config` prints and `--signer` takes. */
  publicKey: string;
  secretKey: Uint8Array;
}

/** This home's key, or undefined when it has none yet. */
export async function loadSigningKey(layout: Layout): Promise<SigningKey | undefined> {
  const path = layout.backupSigningKeyFile;
  const stored = (await readJsonFile(path)) as { version?: unknown; secretKey?: unknown } | null | undefined;
  if (stored === undefined) return undefined;
  const secretKey = typeof stored?.secretKey === 'string' ? Buffer.from(stored.secretKey, 'base64url') : undefined;
  if (stored?.version !== 1 || secretKey?.length !== 32) throw corruptState(path, 'it holds no Ed25519 secret key');
  return { secretKey, publicKey: signerText(ed25519.getPublicKey(secretKey)) };
}

/**
 * This home's key, made on first use. Made once and never replaced: written to a temporary file and
 * linked into place, so two processes making one at the same moment end up agreeing on one key.
 */
export async function ensureSigningKey(layout: Layout): Promise<SigningKey> {
  const existing = await loadSigningKey(layout);
  if (existing !== undefined) return existing;
  const path = layout.backupSigningKeyFile;
  const temp = `${path}.${randomBytes(6).toString('hex')}.new`;
  const secretKey = ed25519.utils.randomSecretKey();
  await writeFileAtomic(temp, `${JSON.stringify({ version: 1, type: 'ed25519', secretKey: Buffer.from(secretKey).toString('base64url') })}\n`);
  try {
    await link(temp, path);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  } finally {
    await rm(temp, { force: true });
  }
  return (await loadSigningKey(layout))!;
}

/** `--signer KEY` as given; BAD_INPUT (exit 2) for anything but an `ed25519:` public key. */
export function parseSigner(text: string): string {
  if (signerBytes(text) === undefined) {
    throw new BotsyncError('BAD_INPUT', `"${text}" is not a botsync signer key.`, { hint: '`botsync backup config` prints it: ed25519: followed by 43 characters.' });
  }
  return text;
}

/** The raw public key of a signer text in its one canonical spelling; undefined for anything else. */
function signerBytes(text: string): Buffer | undefined {
  const body = text.startsWith(SIGNER_PREFIX) ? text.slice(SIGNER_PREFIX.length) : undefined;
  const bytes = body === undefined || !/^[A-Za-z0-9_-]{43}$/.test(body) ? undefined : Buffer.from(body, 'base64url');
  return bytes !== undefined && signerText(bytes) === text ? bytes : undefined;
}

/** The manifest's `signer` and `signature` for these fields. */
export function signManifest(manifest: Omit<Manifest, 'signer' | 'signature'>, key: SigningKey): { signer: string; signature: string } {
  const signature = ed25519.sign(signedBytes({ ...manifest, signer: key.publicKey }), key.secretKey);
  return { signer: key.publicKey, signature: Buffer.from(signature).toString('base64url') };
}

export interface Authenticity {
  authenticated: boolean;
  by: 'passphrase' | 'signature' | null;
  /** The key whose signature established it. */
  signer: string | null;
  /** How it was established, or why it was not: said to the user either way. */
  reason: string;
}

/**
 * Whether the snapshot's author is known, for a snapshot that opens with `opensWith` (the kind of
 * identity that will decrypt it: what the manifest claims does not count). `expected` is a key the
 * user vouched for (`--signer`); `own` is this home's. A signature that does not verify, or a
 * snapshot not signed by `expected`, is refused: BACKUP_CORRUPT before anything is downloaded.
 */
export function judgeAuthenticity(manifest: Manifest, opensWith: 'x25519' | 'scrypt', expected: string | undefined, own: string | undefined): Authenticity {
  if (opensWith === 'scrypt') {
    if (expected !== undefined) {
      throw new BotsyncError('BAD_INPUT', 'Passphrase snapshots are not signed: the passphrase authenticates them.', { hint: 'Leave out --signer; it is for snapshots encrypted to a recipient.' });
    }
    return { authenticated: true, by: 'passphrase', signer: null, reason: 'authenticated by the passphrase: only someone who knows it could have written it' };
  }
  const anyone = 'anyone holding the recipient public key could have written it';
  const signer = manifest.signature === undefined ? undefined : manifest.signer;
  if (signer !== undefined && !validSignature(manifest, signer)) {
    throw new BotsyncError('BACKUP_CORRUPT', `The signature of snapshot ${manifest.name} does not match its manifest.`, { hint: `It was altered after it was signed; ${anyone}. Restore another snapshot.` });
  }
  if (expected !== undefined) {
    if (signer !== expected) {
      throw new BotsyncError('BACKUP_CORRUPT', `Snapshot ${manifest.name} is not signed by ${expected}: ${signer === undefined ? 'it is unsigned' : `it is signed by ${signer}`}.`, {
        hint: `${anyone[0]!.toUpperCase()}${anyone.slice(1)}: do not trust it. Nothing was read or written.`,
      });
    }
    return { authenticated: true, by: 'signature', signer, reason: `signed by ${signer}` };
  }
  if (signer !== undefined && signer === own) return { authenticated: true, by: 'signature', signer, reason: `signed by this home's key ${signer}` };
  return {
    authenticated: false,
    by: null,
    signer: null,
    reason:
      signer === undefined
        ? `it is unsigned, so ${anyone}`
        : `it is signed by ${signer}, which is not this home's key, so ${anyone}; pass --signer KEY to check it against a key you trust`,
  };
}

/** Whether `signer` signed this manifest as it stands. */
export function signedBy(manifest: Manifest, signer: string): boolean {
  return manifest.signature !== undefined && manifest.signer === signer && validSignature(manifest, signer);
}

function validSignature(manifest: Manifest, signer: string): boolean {
  const publicKey = signerBytes(signer);
  const signature = Buffer.from(manifest.signature!, 'base64url');
  // A signer field that is not a key cannot have signed anything; noble answers false for a key off the curve.
  return publicKey !== undefined && signature.length === 64 && ed25519.verify(signature, signedBytes(manifest), publicKey);
}

function signedBytes(manifest: Omit<Manifest, 'signature'>): Uint8Array {
  return Buffer.from(`${SIGNED_CONTEXT}${JSON.stringify(SIGNED_FIELDS.map((field) => manifest[field] ?? null))}`);
}

function signerText(publicKey: Uint8Array): string {
  return `${SIGNER_PREFIX}${Buffer.from(publicKey).toString('base64url')}`;
}
