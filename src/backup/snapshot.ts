import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { acquireLock, releaseLock } from '../daemon/lock.js';
import { BotsyncError, errnoCode, isBotsyncError } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import { FOLDERS } from '../workspace/roles.js';
import { decryptStream, encryptStream, type AgeIdentity, type AgeRecipient, type ByteSource } from './age.js';
import { lockPath, recordBackup } from './backup-state.js';
import { MANIFEST_SUFFIX, OBJECT_SUFFIX, PARTIAL_SUFFIX, manifestName, newSnapshotName, objectName, parseManifest, partialName, type Manifest } from './manifest.js';
import { cat, catText, deleteFile, joinRemote, listFiles, moveto, rcat, type RemoteEntry } from './rclone.js';
import { applyRetention, type KeepDecision } from './retention.js';
import { passphraseFrom, type BackupSettings } from './settings.js';
import { checkTar, extractTar } from './tar-stream.js';
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
  await acquireLock(lockPath(layout), process.pid, (holder) =>
    new BotsyncError('BACKUP_LOCKED', `A backup or prune of this home is already running (pid ${holder}).`, { hint: 'Wait for it to finish; `botsync backup status` shows the last result.' }),
  );
}

export async function backupNow(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, version: string, onProgress?: (bytes: number) => void): Promise<BackupResult> {
  await lockBackups(layout);
  const started = Date.now();
  const name = newSnapshotName();
  const partial = joinRemote(settings.remote, partialName(name));
  let stage = 'preparing';
  let archive: TarWriter | undefined;
  try {
    const recipients = recipientsFor(settings, env);
    const extra = settings.includeState ? [{ path: STATE_RECORD_PATH, content: await stateRecord(layout) }] : [];
    archive = new TarWriter({ cwd: layout.home, paths: FOLDERS.map((folder) => folder.dir), exclude: settings.exclude, extra });
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
    const manifest: Manifest = {
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
    await releaseLock(lockPath(layout));
  }
}

/**
 * Complete snapshots (a manifest and its object), oldest first. An object damaged since (wrong size)
 * is still listed: verify and restore report it as corrupt rather than pretending it never existed.
 */
export async function listSnapshots(settings: BackupSettings, env: NodeJS.ProcessEnv): Promise<Manifest[]> {
  return (await readRemote(settings, env)).snapshots;
}

interface RemoteState {
  snapshots: Manifest[];
  /** What interrupted backups left: uploads never published, objects without a manifest, manifests without an object. */
  leftovers: RemoteEntry[];
}

async function readRemote(settings: BackupSettings, env: NodeJS.ProcessEnv): Promise<RemoteState> {
  const files = await listFiles(settings.remote, env);
  const names = new Set(files.map((file) => file.Name));
  const snapshots: Manifest[] = [];
  const leftovers: RemoteEntry[] = [];
  for (const file of files) {
    if (file.Name.endsWith(PARTIAL_SUFFIX)) leftovers.push(file);
    else if (file.Name.endsWith(OBJECT_SUFFIX)) {
      // Its manifest never arrived (or a prune removed the manifest and failed on the object).
      if (!names.has(manifestName(file.Name.slice(0, -OBJECT_SUFFIX.length)))) leftovers.push(file);
    } else if (file.Name.endsWith(MANIFEST_SUFFIX)) {
      const name = file.Name.slice(0, -MANIFEST_SUFFIX.length);
      // Read only when its object exists: a manifest without one (its object lost or removed by hand)
      // is not a snapshot.
      if (names.has(objectName(name))) snapshots.push(parseManifest(await catText(joinRemote(settings.remote, file.Name), env), file.Name));
      else leftovers.push(file);
    }
  }
  return { snapshots: snapshots.sort((a, b) => (a.name < b.name ? -1 : 1)), leftovers };
}

export async function findSnapshot(settings: BackupSettings, env: NodeJS.ProcessEnv, which = 'latest'): Promise<Manifest> {
  const snapshots = await listSnapshots(settings, env);
  const found = which === 'latest' ? snapshots.at(-1) : snapshots.find((snapshot) => snapshot.name === which);
  if (found === undefined) {
    throw new BotsyncError('BACKUP_NOT_FOUND', which === 'latest' ? 'There is no complete snapshot yet.' : `No complete snapshot named "${which}".`, {
      hint: 'See the snapshots with `botsync backup list`.',
    });
  }
  return found;
}

/** Authenticates the whole snapshot and checks its manifest and tar structure; writes nothing. */
export async function verifySnapshot(settings: BackupSettings, env: NodeJS.ProcessEnv, manifest: Manifest, identities: AgeIdentity[]): Promise<{ files: number }> {
  const opened = openSnapshot(settings, env, manifest, identities);
  const [files] = await Promise.all([checkTar(opened.plaintext), opened.checked]);
  if (files !== manifest.files) throw new BotsyncError('BACKUP_CORRUPT', `The snapshot holds ${files} entries, its manifest says ${manifest.files}.`, { hint: 'Restore another snapshot.' });
  return { files };
}

/**
 * Restores into `dest` (default `<home>/restored/<name>`), which must not exist: extracted into a
 * temporary sibling first and renamed into place only once the whole stream authenticated and matched
 * its manifest, so a failed or tampered restore leaves nothing behind.
 */
export async function restoreSnapshot(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, manifest: Manifest, identities: AgeIdentity[], to?: string): Promise<{ path: string; files: number }> {
  const dest = to ?? join(layout.home, 'restored', manifest.name);
  if (await stat(dest).then(() => true, (error: unknown) => (errnoCode(error) === 'ENOENT' ? false : Promise.reject(error)))) {
    throw new BotsyncError('BAD_INPUT', `${dest} already exists; restore never overwrites.`, { hint: 'Choose another directory with --to DIR.' });
  }
  const temp = `${dest}.partial-${randomBytes(4).toString('hex')}`;
  await mkdir(temp, { recursive: true, mode: 0o700 });
  const opened = openSnapshot(settings, env, manifest, identities);
  // Both must have stopped before the temporary directory is removed: an extractor still writing
  // after a failed check would leave files behind.
  const [extracted, checked] = await Promise.allSettled([extractTar(opened.plaintext, temp), opened.checked]);
  if (extracted.status === 'rejected' || checked.status === 'rejected') {
    // A write the aborted extractor had in flight can land while the directory is being removed
    // (ENOTEMPTY): retried, and once it is gone the extractor cannot recreate it (it writes only
    // below an existing target).
    await rm(temp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    throw checked.status === 'rejected' ? checked.reason : (extracted as PromiseRejectedResult).reason;
  }
  await rename(temp, dest);
  return { path: dest, files: extracted.value };
}

export interface PruneResult {
  decisions: KeepDecision[];
  removed: string[];
  /** Objects interrupted backups left behind, removed (or, on a dry run, to be removed). */
  leftovers: string[];
}

/** A leftover younger than this may belong to a backup another machine is still writing to the same remote. */
const LEFTOVER_GRACE_MS = 60 * 60 * 1000;

/**
 * Applies the retention policy; the manifest goes first, so a half-pruned snapshot is simply gone.
 * Also removes what interrupted backups left (`.partial` uploads, objects without a manifest,
 * manifests without an object) once it is an hour old. Runs under the backup lock, so it never races
 * this home's own backup; the hour is for backups from other machines to the same remote.
 */
export async function pruneSnapshots(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, dryRun: boolean, now = new Date()): Promise<PruneResult> {
  await lockBackups(layout);
  try {
    const { snapshots, leftovers } = await readRemote(settings, env);
    const decisions = applyRetention(snapshots.map((s) => ({ name: s.name, time: new Date(s.created) })), settings.retention);
    const removed: string[] = [];
    for (const decision of decisions.filter((d) => !d.keep)) {
      if (!dryRun) {
        await deleteFile(joinRemote(settings.remote, manifestName(decision.snapshot.name)), env);
        await deleteFile(joinRemote(settings.remote, objectName(decision.snapshot.name)), env);
      }
      removed.push(decision.snapshot.name);
    }
    const stale = leftovers.filter((file) => now.getTime() - Date.parse(file.ModTime) > LEFTOVER_GRACE_MS).map((file) => file.Name);
    if (!dryRun) for (const name of stale) await deleteFile(joinRemote(settings.remote, name), env);
    return { decisions, removed, leftovers: stale };
  } finally {
    await releaseLock(lockPath(layout));
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
function openSnapshot(settings: BackupSettings, env: NodeJS.ProcessEnv, manifest: Manifest, identities: AgeIdentity[]): { plaintext: Readable; checked: Promise<void> } {
  const download = cat(joinRemote(settings.remote, objectName(manifest.name)), env);
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
