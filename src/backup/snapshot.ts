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
import { MANIFEST_SUFFIX, manifestName, newSnapshotName, objectName, parseManifest, type Manifest } from './manifest.js';
import { cat, catText, deleteFile, joinRemote, listFiles, moveto, rcat } from './rclone.js';
import { applyRetention, type KeepDecision } from './retention.js';
import { passphraseFrom, type BackupSettings } from './settings.js';
import { checkTar, extractTar } from './tar-stream.js';
import { TarWriter } from './tar-writer.js';

/**
 * Snapshots: tar -> age -> `rclone rcat` to `<name>.tar.age.partial` -> `rclone moveto` -> manifest, all
 * streaming. Reading one back goes `rclone cat` -> size and SHA-256 against the manifest -> age
 * (each chunk authenticated before it is used) -> tar; nothing is written in place until all of it checked.
 */

export interface BackupResult {
  name: string;
  bytes: number;
  files: number;
  seconds: number;
}

export async function backupNow(layout: Layout, settings: BackupSettings, env: NodeJS.ProcessEnv, version: string, onProgress?: (bytes: number) => void): Promise<BackupResult> {
  await acquireLock(lockPath(layout), process.pid, (holder) =>
    new BotsyncError('BACKUP_LOCKED', `A backup of this home is already running (pid ${holder}).`, { hint: 'Wait for it to finish; `botsync backup status` shows the last result.' }),
  );
  const started = Date.now();
  const name = newSnapshotName();
  const partial = joinRemote(settings.remote, `${objectName(name)}.partial`);
  let stage = 'preparing';
  let archive: TarWriter | undefined;
  try {
    const recipients = recipientsFor(settings, env);
    // The first stage to fail names the failure; the others fail after it, as a consequence.
    const failed = (what: string) => (stage = stage === 'streaming' ? what : stage);
    archive = new TarWriter({ cwd: layout.home, paths: FOLDERS.map((folder) => folder.dir), exclude: settings.exclude });
    const encrypt = encryptStream(recipients, readingStage(archive, () => failed('reading the folders (tar)')));
    const meter = measure(onProgress);
    encrypt.once('error', () => failed('encrypting (age)'));
    stage = 'streaming';
    const produce = pipeline(encrypt, meter);
    const upload = rcat(partial, meter, env).catch((error: unknown) => {
      failed('uploading (rclone rcat)');
      throw error;
    });
    await Promise.all([produce, upload]);
    stage = 'publishing (rclone moveto)';
    await moveto(partial, joinRemote(settings.remote, objectName(name)), env);
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
    stage = 'writing the manifest';
    await rcat(joinRemote(settings.remote, manifestName(name)), Readable.from([`${JSON.stringify(manifest, null, 2)}\n`]), env);
    const result = { name, bytes: manifest.bytes, files: manifest.files, seconds: (Date.now() - started) / 1000 };
    await recordBackup(layout, { lastSuccess: { ...result, at: new Date().toISOString() } });
    return result;
  } catch (error) {
    await archive?.close();
    await deleteFile(partial, env).catch(() => undefined); // gone already, or never written: either way no .partial remains
    const message = (error as Error).message;
    await recordBackup(layout, { lastFailure: { at: new Date().toISOString(), stage, message } });
    if (isBotsyncError(error, 'BACKUP_NOT_CONFIGURED') || isBotsyncError(error, 'RCLONE_MISSING')) throw error;
    throw new BotsyncError('BACKUP_FAILED', `The backup failed while ${stage}: ${message}`, {
      hint: 'No snapshot was made and the partial upload was removed; `botsync backup status` keeps this result.',
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
  const files = await listFiles(settings.remote, env);
  const objects = new Map(files.map((file) => [file.Name, file.Size]));
  const manifests: Manifest[] = [];
  for (const file of files.filter((f) => f.Name.endsWith(MANIFEST_SUFFIX))) {
    const manifest = parseManifest(await catText(joinRemote(settings.remote, file.Name), env), file.Name);
    if (objects.has(objectName(manifest.name))) manifests.push(manifest);
  }
  return manifests.sort((a, b) => (a.name < b.name ? -1 : 1));
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
}

/** Applies the retention policy; the manifest goes first, so a half-pruned snapshot is simply gone. */
export async function pruneSnapshots(settings: BackupSettings, env: NodeJS.ProcessEnv, dryRun: boolean): Promise<PruneResult> {
  const snapshots = await listSnapshots(settings, env);
  const decisions = applyRetention(snapshots.map((s) => ({ name: s.name, time: new Date(s.created) })), settings.retention);
  const removed: string[] = [];
  for (const decision of decisions.filter((d) => !d.keep)) {
    if (!dryRun) {
      await deleteFile(joinRemote(settings.remote, manifestName(decision.snapshot.name)), env);
      await deleteFile(joinRemote(settings.remote, objectName(decision.snapshot.name)), env);
    }
    removed.push(decision.snapshot.name);
  }
  return { decisions, removed };
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

/** The archive as the encryptor's source, noting a failure to read it before the encryptor reports it. */
function readingStage(archive: TarWriter, onFailure: () => void): ByteSource {
  return {
    read: (into, offset, length) =>
      archive.read(into, offset, length).catch((error: unknown) => {
        onFailure();
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
