import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { acquireLock, releaseLock } from '../lib/lock.js';
import { BotsyncError, errnoCode, isBotsyncError } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import { FOLDERS } from '../workspace/roles.js';
import { loadConfig } from '../workspace/config.js';
import { decryptStream, encryptStream, type AgeIdentity, type AgeRecipient, type ByteSource } from './age.js';
import { recordBackup } from './backup-state.js';
import type { SkippedEntry } from './archive-plan.js';
import { MANIFEST_SUFFIX, manifestName, newSnapshotName, objectName, parseManifest, partialName, snapshotFile, snapshotTime, type Manifest } from './manifest.js';
import { cat, catText, deleteFile, joinRemote, listFiles, moveto, rcat, type RemoteEntry } from './rclone.js';
import { applyRetention, type KeepDecision } from './retention.js';
import { passphraseFrom, type BackupSettings } from './settings.js';
import { ensureSigningKey, judgeAuthenticity, loadSigningKey, signManifest, signedBy, type Authenticity } from './signing.js';
import { makeLinks, readArchive } from './tar-stream.js';
import { STATE_RECORD_PATH, stateRecord } from './state-record.js';
import { TarWriter } from './tar-writer.js';

/**
 * Snapshots: tar -> age -> `rclone rcat` to `<name>.tar.age.partial`, all streaming, then `rclone
 * moveto` to the final name, then the manifest, written last. Reading one back goes `rclone cat` ->
 * size and SHA-256 against the manifest -> age (each chunk authenticated before it is used) -> tar;
 * nothing is written in place until all of it checked.
 */

export interface BackupResult {
  name: string;
  bytes: number;
  files: number;
  seconds: number;
}

/** Backups and prunes of a home take turns: a prune must not take a running backup's upload for a leftover. */
async function lockBackups(layout: Layout): Promise<void> {
  await acquireLock(layout.backupLockFile, process.pid, {
    busy: (holder) =>
      new BotsyncError('BACKUP_LOCKED', `A backup or prune of this home is already running (pid ${holder}).`, { hint: 'Wait for it to finish; `botsync backup status` shows the last result.' }),
  });
}

/** Where a snapshot holds the added folders. */
const ADDED_FOLDERS_DIR = 'folders';

export async function backupNow(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, version: string, onProgress?: (bytes: number) => void): Promise<BackupResult> {
  await lockBackups(layout);
  const started = Date.now();
  const name = newSnapshotName();
  const partial = joinRemote(settings.remote, partialName(name));
  let stage = 'preparing';
  let archive: TarWriter | undefined;
  try {
    const recipients = recipientsFor(settings, env);
    // Anyone holding the recipient's public key can encrypt to it: the signature says it was this home.
    const signingKey = await ensureSigningKey(layout);
    const extra = settings.includeState ? [{ path: STATE_RECORD_PATH, content: await stateRecord(layout) }] : [];
    // A folder added with `folders add|accept` may lie anywhere: it goes in as `folders/ID/`.
    const added = ((await loadConfig(layout)).folders ?? []).map((folder) => ({ path: `${ADDED_FOLDERS_DIR}/${folder.id}`, dir: folder.path }));
    archive = new TarWriter({ cwd: layout.home, paths: FOLDERS.map((folder) => folder.dir), mounted: added, exclude: settings.exclude, extra });
    let readFailure: unknown;
    const encrypt = encryptStream(recipients, readingStage(archive, (error) => (readFailure ??= error)));
    const meter = measure(onProgress);
    stage = 'streaming';
    const [produced, uploaded] = await Promise.allSettled([pipeline(encrypt, meter), rcat(partial, meter, env)]);
    const failure = streamingFailure(readFailure, produced, uploaded);
    if (failure !== undefined) {
      stage = failure.stage;
      throw failure.error;
    }
    const fields: Manifest = {
      version: 1,
      name,
      created: new Date(started).toISOString(),
      host: hostname(),
      botsync: version,
      bytes: meter.bytes,
      sha256: meter.sha256(),
      files: archive.entries,
      encryption: settings.encryption.type,
    };
    const manifest: Manifest = { ...fields, ...signManifest(fields, signingKey) };
    stage = 'publishing (rclone moveto)';
    await moveto(partial, joinRemote(settings.remote, objectName(name)), env);
    // Last, so that a manifest always stands for an object that is whole and in place.
    stage = 'writing the manifest';
    await rcat(joinRemote(settings.remote, manifestName(name)), Readable.from([`${JSON.stringify(manifest, null, 2)}\n`]), env);
    stage = 'recording the result';
    const result = { name, bytes: manifest.bytes, files: manifest.files, seconds: (Date.now() - started) / 1000 };
    await recordBackup(layout, { lastSuccess: { ...result, at: new Date().toISOString() } });
    return result;
  } catch (error) {
    await archive?.close();
    // Once published, the snapshot is complete even if recording that fails: it stays.
    const left = stage === 'recording the result' ? [] : await removeWritten(settings, env, name);
    const message = (error as Error).message;
    await recordBackup(layout, { lastFailure: { at: new Date().toISOString(), stage, message } });
    if (isBotsyncError(error, 'BACKUP_NOT_CONFIGURED') || isBotsyncError(error, 'RCLONE_MISSING')) throw error;
    const cleaned =
      left.length === 0
        ? 'nothing of it was left on the remote'
        : `${left.join(' and ')} may remain on the remote (\`botsync backup prune\` removes it once it is an hour old)`;
    throw new BotsyncError('BACKUP_FAILED', `The backup failed while ${stage}: ${message}`, {
      hint: `No snapshot was made and ${cleaned}; \`botsync backup status\` keeps this result.`,
      cause: error,
    });
  } finally {
    await releaseLock(layout.backupLockFile);
  }
}

/** A complete snapshot: its manifest, and its two files as the remote listed them. */
export interface Snapshot extends Manifest {
  /** What is read and deleted: names from the listing, never from inside a manifest. */
  stored: { manifest: string; object: string };
}

/** A manifest that could not be read or was refused: reported and skipped, never deleted. */
export interface UnreadableManifest {
  file: string;
  message: string;
}

export interface RemoteSnapshots {
  /** Oldest first. */
  snapshots: Snapshot[];
  unreadable: UnreadableManifest[];
}

/**
 * Complete snapshots (a manifest and its object), oldest first. An object damaged since (wrong size)
 * is still listed: verify and restore report it as corrupt rather than pretending it never existed.
 */
export async function listSnapshots(settings: BackupSettings, env: NodeJS.ProcessEnv): Promise<RemoteSnapshots> {
  const { snapshots, unreadable } = await readRemote(settings, env);
  return { snapshots, unreadable };
}

interface RemoteState extends RemoteSnapshots {
  /** What interrupted backups left: uploads never published, objects without a manifest, manifests without an object. */
  leftovers: RemoteEntry[];
}

/** botsync's manifests are under 2 KiB; a larger one was not written by it and is not read whole. */
const MAX_MANIFEST_BYTES = 64 * 1024;

function manifestTooLarge(file: string): BotsyncError {
  return new BotsyncError('BACKUP_CORRUPT', `The manifest ${file} is larger than any botsync writes (over ${MAX_MANIFEST_BYTES / 1024} KiB).`, {
    hint: 'It was not written by botsync; remove it from the remote.',
  });
}

/**
 * Files that are not named like a snapshot's are not botsync's and are left alone, except a
 * `.manifest.json` of another name, which is reported (a crafted one must not pass unseen).
 */
async function readRemote(settings: BackupSettings, env: NodeJS.ProcessEnv): Promise<RemoteState> {
  const parts = new Map<string, Partial<Record<'manifest' | 'object' | 'partial', RemoteEntry>>>();
  const unreadable: UnreadableManifest[] = [];
  for (const file of await listFiles(settings.remote, env)) {
    const of = snapshotFile(file.Name);
    if (of !== undefined) parts.set(of.name, { ...parts.get(of.name), [of.kind]: file });
    else if (file.Name.endsWith(MANIFEST_SUFFIX)) unreadable.push({ file: file.Name, message: `The manifest ${file.Name} is not named like a snapshot.` });
  }
  const snapshots: Snapshot[] = [];
  const leftovers: RemoteEntry[] = [];
  for (const { manifest, object, partial } of parts.values()) {
    if (partial !== undefined) leftovers.push(partial);
    // An object whose manifest never arrived (or a prune removed the manifest and failed on the
    // object), or a manifest whose object was lost or removed by hand: not a snapshot.
    if (manifest === undefined || object === undefined) {
      leftovers.push(...[manifest, object].filter((file) => file !== undefined));
      continue;
    }
    try {
      // Checked in the listing, and again in what is read, in case the file grew in between.
      if (manifest.Size > MAX_MANIFEST_BYTES) throw manifestTooLarge(manifest.Name);
      const text = await catText(joinRemote(settings.remote, manifest.Name), env, MAX_MANIFEST_BYTES);
      if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) throw manifestTooLarge(manifest.Name);
      snapshots.push({ ...parseManifest(text, manifest.Name), stored: { manifest: manifest.Name, object: object.Name } });
    } catch (error) {
      if (!isBotsyncError(error, 'BACKUP_CORRUPT') && !isBotsyncError(error, 'RCLONE_FAILED')) throw error;
      unreadable.push({ file: manifest.Name, message: (error as Error).message });
    }
  }
  return { snapshots: snapshots.sort((a, b) => (a.name < b.name ? -1 : 1)), unreadable, leftovers };
}

/**
 * The named snapshot, or for `latest` the newest one signed by the trusted key (`signer`, else this
 * home's), and only when there is none the newest of all: a newer manifest anyone could have written
 * must not be what `restore latest` restores. A manifest that cannot be read is skipped (and
 * reported) unless it is the one asked for.
 */
export async function findSnapshot(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, which: string, signer?: string): Promise<{ snapshot: Snapshot; unreadable: UnreadableManifest[] }> {
  const { snapshots, unreadable } = await listSnapshots(settings, env);
  const trusted = signer ?? (await loadSigningKey(layout))?.publicKey;
  const signed = trusted === undefined ? [] : snapshots.filter((candidate) => signedBy(candidate, trusted));
  const snapshot = which === 'latest' ? (signed.at(-1) ?? snapshots.at(-1)) : snapshots.find((candidate) => candidate.name === which);
  if (snapshot !== undefined) return { snapshot, unreadable };
  const asked = unreadable.find((bad) => bad.file === manifestName(which));
  if (asked !== undefined) throw new BotsyncError('BACKUP_CORRUPT', asked.message, { hint: 'That snapshot cannot be trusted; restore another one (`botsync backup list`).' });
  throw new BotsyncError('BACKUP_NOT_FOUND', which === 'latest' ? 'There is no complete snapshot yet.' : `No complete snapshot named "${which}".`, {
    hint: 'See the snapshots with `botsync backup list`.',
  });
}

export interface ReadingKeys {
  identities: AgeIdentity[];
  /** A signer key the user vouches for (`--signer`); without it, this home's own key is the one trusted. */
  signer?: string;
}

export interface SnapshotReading {
  files: number;
  /** Entries not restored (links that would leave the target, hard links, special files). */
  skipped: SkippedEntry[];
  authenticity: Authenticity;
}

/** Authenticates the whole snapshot and checks it by the rules restore applies; writes nothing. */
export function verifySnapshot(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, snapshot: Snapshot, keys: ReadingKeys): Promise<SnapshotReading> {
  return readSnapshot(layout, settings, env, snapshot, keys);
}

/**
 * Restores into `dest` (default `<home>/restored/<name>`), which must not exist: extracted into a
 * temporary sibling first and renamed into place only once the whole stream authenticated and matched
 * its manifest, so a failed or tampered restore leaves nothing behind.
 */
export async function restoreSnapshot(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, snapshot: Snapshot, keys: ReadingKeys, to?: string): Promise<SnapshotReading & { path: string }> {
  const dest = to ?? join(layout.home, 'restored', snapshot.name);
  if (await stat(dest).then(() => true, (error: unknown) => (errnoCode(error) === 'ENOENT' ? false : Promise.reject(error)))) {
    throw new BotsyncError('BAD_INPUT', `${dest} already exists; restore never overwrites.`, { hint: 'Choose another directory with --to DIR.' });
  }
  const temp = `${dest}.partial-${randomBytes(4).toString('hex')}`;
  await mkdir(temp, { recursive: true, mode: 0o700 });
  let reading: SnapshotReading;
  try {
    reading = await readSnapshot(layout, settings, env, snapshot, keys, temp);
  } catch (error) {
    // A write the aborted extractor had in flight can land while the directory is being removed
    // (ENOTEMPTY): retried, and once it is gone the extractor cannot recreate it (it writes only
    // below an existing target).
    await rm(temp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    throw error;
  }
  await rename(temp, dest);
  return { ...reading, path: dest };
}

/**
 * Restore's and verify's one way through a snapshot: who wrote it (before anything is downloaded),
 * then size and SHA-256 against the manifest, age's authentication of every chunk, the archive's
 * rules and its entry count; with `into`, the archive is extracted there and its links are made
 * last, once all of that held.
 */
async function readSnapshot(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, snapshot: Snapshot, keys: ReadingKeys, into?: string): Promise<SnapshotReading> {
  const opensWith = keys.identities.some((identity) => identity.type === 'x25519') ? 'x25519' : 'scrypt';
  const authenticity = judgeAuthenticity(snapshot, opensWith, keys.signer, (await loadSigningKey(layout))?.publicKey);
  const opened = openSnapshot(settings, env, snapshot, keys.identities);
  // Both must have stopped before the caller removes what was extracted: an extractor still
  // writing after a failed check would leave files behind.
  const [read, checked] = await Promise.allSettled([readArchive(opened.plaintext, into), opened.checked]);
  if (checked.status === 'rejected') throw checked.reason;
  if (read.status === 'rejected') throw read.reason;
  if (read.value.entries !== snapshot.files) {
    throw new BotsyncError('BACKUP_CORRUPT', `The snapshot holds ${read.value.entries} entries, its manifest says ${snapshot.files}.`, { hint: 'Restore another snapshot.' });
  }
  if (into !== undefined) await makeLinks(into, read.value.links);
  return { files: read.value.entries, skipped: read.value.skipped, authenticity };
}

export interface PruneResult {
  /** For each snapshot of the hosts pruned, whether it stays and why. */
  decisions: (KeepDecision & { host: string })[];
  removed: string[];
  /** Snapshots of other hosts, left alone (none with allHosts). */
  otherHosts: number;
  /** Snapshots that name this host but are not signed by this home's key (forged, or from before signing): left alone unless allHosts. */
  unverified: string[];
  /** Objects interrupted backups left behind, removed (or, on a dry run, to be removed). */
  leftovers: string[];
  unreadable: UnreadableManifest[];
}

export interface PruneOptions {
  /** Every host's snapshots, each host's by the policy on its own, as restic groups by host. */
  allHosts?: boolean;
  now?: Date;
}

/** A leftover younger than this may belong to a backup another machine is still writing to the same remote. */
const LEFTOVER_GRACE_MS = 60 * 60 * 1000;

/**
 * Applies the retention policy to this host's snapshots (another machine backing up to the same
 * remote keeps its own; `allHosts` applies it to each host's); the manifest goes first, so a
 * half-pruned snapshot is simply gone. Also removes what interrupted backups left (`.partial`
 * uploads, objects without a manifest, manifests without an object) once it is an hour old. Runs
 * under the backup lock, so it never races this home's own backup; the hour is for backups from
 * other machines to the same remote.
 */
export async function pruneSnapshots(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, dryRun: boolean, { allHosts = false, now = new Date() }: PruneOptions = {}): Promise<PruneResult> {
  await lockBackups(layout);
  try {
    const { snapshots, leftovers, unreadable } = await readRemote(settings, env);
    const here = hostname();
    const own = (await loadSigningKey(layout))?.publicKey;
    const hosts = new Map<string, Snapshot[]>();
    const unverified: string[] = [];
    for (const snapshot of snapshots) {
      // This host's snapshots are those this home signed: a manifest anyone wrote with this host's
      // name and fresh dates must not push the real ones out of the retention policy. With allHosts,
      // each host's snapshots are grouped by who signed them, so forgeries (unsigned, or signed by
      // another key) only ever compete with each other.
      const mine = snapshot.host === here && own !== undefined && signedBy(snapshot, own);
      if (snapshot.host === here && !mine && !allHosts) unverified.push(snapshot.name);
      if (!allHosts && !mine) continue;
      const signer = snapshot.signer !== undefined && signedBy(snapshot, snapshot.signer) ? snapshot.signer : 'unsigned';
      const group = `${snapshot.host}\u0000${signer}`;
      hosts.set(group, [...(hosts.get(group) ?? []), snapshot]);
    }
    const decisions: PruneResult['decisions'] = [];
    const removed: string[] = [];
    for (const [key, group] of hosts) {
      const host = key.split('\u0000')[0]!;
      const byName = new Map(group.map((snapshot) => [snapshot.name, snapshot]));
      for (const decision of applyRetention(group.map((s) => ({ name: s.name, time: snapshotTime(s.name) })), settings.retention)) {
        decisions.push({ ...decision, host });
        if (decision.keep) continue;
        const { stored } = byName.get(decision.snapshot.name)!;
        if (!dryRun) {
          await deleteFile(joinRemote(settings.remote, stored.manifest), env);
          await deleteFile(joinRemote(settings.remote, stored.object), env);
        }
        removed.push(decision.snapshot.name);
      }
    }
    const stale = leftovers.filter((file) => now.getTime() - Date.parse(file.ModTime) > LEFTOVER_GRACE_MS).map((file) => file.Name);
    if (!dryRun) for (const name of stale) await deleteFile(joinRemote(settings.remote, name), env);
    return { decisions, removed, otherHosts: snapshots.length - decisions.length - unverified.length, unverified, leftovers: stale, unreadable };
  } finally {
    await releaseLock(layout.backupLockFile);
  }
}

/** Identities for reading: the passphrase from its variable, or an age identity file. */
export async function identitiesFor(settings: BackupSettings, env: NodeJS.ProcessEnv, identityFile?: string): Promise<AgeIdentity[]> {
  if (settings.encryption.type === 'scrypt') return [{ type: 'scrypt', passphrase: passphraseFrom(settings.encryption, env)! }];
  if (identityFile === undefined) {
    throw new BotsyncError('BAD_INPUT', 'These backups are encrypted to an age key; reading them needs its identity.', { hint: 'Pass --identity FILE (the file age-keygen wrote).' });
  }
  const keys = (await readFile(identityFile, 'utf8')).split('\n').map((line) => line.trim()).filter((line) => line.startsWith('AGE-SECRET-KEY-1'));
  if (keys.length === 0) throw new BotsyncError('BAD_INPUT', `${identityFile} holds no AGE-SECRET-KEY.`, { hint: 'Pass the identity file age-keygen wrote.' });
  return keys.map((secretKey) => ({ type: 'x25519', secretKey }));
}

function recipientsFor(settings: BackupSettings, env: NodeJS.ProcessEnv): AgeRecipient[] {
  return settings.encryption.type === 'x25519'
    ? [{ type: 'x25519', publicKey: settings.encryption.recipient }]
    : [{ type: 'scrypt', passphrase: passphraseFrom(settings.encryption, env)! }];
}

/** The decrypted tar stream of a snapshot; `checked` settles once the stored bytes matched the manifest. */
function openSnapshot(settings: BackupSettings, env: NodeJS.ProcessEnv, manifest: Snapshot, identities: AgeIdentity[]): { plaintext: Readable; checked: Promise<void> } {
  const download = cat(joinRemote(settings.remote, manifest.stored.object), env);
  const meter = measure();
  const decrypt = decryptStream(identities);
  const flowing = pipeline(download.stream, meter, decrypt);
  const checked = Promise.all([flowing, download.done]).then(() => {
    if (meter.bytes !== manifest.bytes || meter.sha256() !== manifest.sha256) {
      throw new BotsyncError('BACKUP_CORRUPT', `Snapshot ${manifest.name} does not match its manifest (size or SHA-256).`, { hint: 'It was altered or truncated; restore another snapshot.' });
    }
  });
  checked.catch((error: unknown) => decrypt.destroy(error as Error));
  return { plaintext: decrypt, checked };
}

/**
 * Removes what a failed backup wrote under `name`, found by listing (so nothing is deleted blind, and a
 * name never written is not an error); returns what could not be removed, for the user to hear of.
 */
async function removeWritten(settings: BackupSettings, env: NodeJS.ProcessEnv, name: string): Promise<string[]> {
  const candidates = [partialName(name), objectName(name), manifestName(name)];
  let present: string[];
  try {
    const listed = new Set((await listFiles(settings.remote, env)).map((file) => file.Name));
    present = candidates.filter((candidate) => listed.has(candidate));
  } catch {
    // The remote cannot even be listed (the failure was probably that): nothing can be said to be gone.
    return [partialName(name)];
  }
  const removed = await Promise.allSettled(present.map((file) => deleteFile(joinRemote(settings.remote, file), env)));
  return present.filter((_, i) => removed[i]!.status === 'rejected');
}

/**
 * Where a failed stream began. Failures cascade (rclone dying breaks the pipe, a failed read stops
 * the upload), so the first cause is named: reading the folders, else rclone on its own, else encrypting.
 */
function streamingFailure(readFailure: unknown, produced: PromiseSettledResult<void>, uploaded: PromiseSettledResult<void>): { stage: string; error: unknown } | undefined {
  if (readFailure !== undefined) return { stage: 'reading the folders (tar)', error: readFailure };
  if (uploaded.status === 'rejected') {
    const rcloneOwn = isBotsyncError(uploaded.reason, 'RCLONE_FAILED') || isBotsyncError(uploaded.reason, 'RCLONE_MISSING');
    if (rcloneOwn || produced.status === 'fulfilled') return { stage: 'uploading (rclone rcat)', error: uploaded.reason };
  }
  if (produced.status === 'rejected') return { stage: 'encrypting (age)', error: produced.reason };
  return undefined;
}

/** The archive as the encryptor's source, noting a failure to read it (which the encryptor then reports as its own). */
function readingStage(archive: TarWriter, onFailure: (error: unknown) => void): ByteSource {
  return {
    read: (into, offset, length) =>
      archive.read(into, offset, length).catch((error: unknown) => {
        onFailure(error);
        throw error;
      }),
  };
}

/** Counts and hashes what flows through. */
function measure(onProgress?: (bytes: number) => void): Transform & { bytes: number; sha256(): string } {
  const hash = createHash('sha256');
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      meter.bytes += chunk.length;
      onProgress?.(meter.bytes);
      done(null, chunk);
    },
  }) as Transform & { bytes: number; sha256(): string };
  meter.bytes = 0;
  meter.sha256 = () => hash.digest('hex');
  return meter;
}
