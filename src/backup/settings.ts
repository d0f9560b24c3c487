import { rm } from 'node:fs/promises';
import { BotsyncError, isBotsyncError } from '../errors.js';
import type { Layout } from '../workspace/layout.js';
import { corruptState, readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import { parseRecipient } from './age.js';
import { validatePolicy, type RetentionPolicy } from './retention.js';
import { parseInterval } from '../lib/time/duration.js';

/** Encryption: an age X25519 recipient (the machine needs no decryption key), or a passphrase kept in a named variable. */
export type BackupEncryption = { type: 'x25519'; recipient: string } | { type: 'scrypt'; passphraseEnv: string };

export interface BackupSettings {
  /** REMOTE:PATH, a `:backend,opts:PATH` string, or a remote configured by RCLONE_CONFIG_* variables. */
  remote: string;
  encryption: BackupEncryption;
  exclude: string[];
  retention: RetentionPolicy;
  /** How often the daemon backs up, e.g. "24h"; null: only `backup now`. */
  interval: string | null;
  /** Whether snapshots carry botsync's state without secrets (state-record.ts). */
  includeState: boolean;
}

export async function loadBackupSettings(layout: Layout): Promise<BackupSettings> {
  const raw = (await readJsonFile(layout.backupSettingsFile)) as BackupSettings | undefined;
  if (raw === undefined) {
    throw new BotsyncError('BACKUP_NOT_CONFIGURED', 'Backups are not set up for this home.', {
      hint: 'Run `botsync backup config --remote REMOTE:PATH --recipient age1...` (or --passphrase-env VAR).',
    });
  }
  if (typeof raw.remote !== 'string' || typeof raw.encryption !== 'object' || !Array.isArray(raw.exclude)) throw corruptState(layout.backupSettingsFile, 'it lacks remote, encryption or exclude');
  return { ...raw, includeState: raw.includeState === true };
}

export async function saveBackupSettings(layout: Layout, settings: BackupSettings): Promise<void> {
  await writeJsonAtomic(layout.backupSettingsFile, settings);
}

/**
 * What `backup config` was given. Only these change: re-running it to switch the remote keeps the
 * schedule, the retention rules and the excludes it does not name.
 */
export interface BackupChanges {
  remote?: string;
  recipient?: string;
  passphraseEnv?: string;
  /** Replaces the list; false (--no-exclude) leaves nothing out again. */
  exclude?: string[] | false;
  /** The rules given; a count of 0 or `within: 'off'` turns that rule off. */
  retention: RetentionPolicy;
  /** 'off': no schedule. */
  interval?: string;
  includeState?: boolean;
}

/** The settings after `changes`, on top of the current ones (none yet: remote and encryption are needed); exit 2 with a hint for anything malformed. */
export function applyChanges(current: BackupSettings | undefined, changes: BackupChanges): BackupSettings {
  const remote = changes.remote ?? current?.remote;
  if (remote === undefined) {
    throw new BotsyncError('BAD_INPUT', 'Backups are not set up yet, so --remote is needed.', {
      hint: 'Run `botsync backup config --remote REMOTE:PATH --recipient age1...` (or --passphrase-env VAR).',
    });
  }
  if (!/^[^:\s]*:/.test(remote)) {
    throw new BotsyncError('BAD_INPUT', `"${remote}" is not an rclone remote path.`, { hint: 'Use REMOTE:PATH (e.g. mydrive:backups/botsync) or :local:/path/to/dir.' });
  }
  const encryption = encryptionOf(changes) ?? current?.encryption;
  if (encryption === undefined) {
    throw new BotsyncError('BAD_INPUT', 'Choose one of --recipient and --passphrase-env.', {
      hint: '--recipient age1... needs no secret on this machine; --passphrase-env VAR names the variable holding the passphrase.',
    });
  }
  const retention: RetentionPolicy = { ...current?.retention, ...changes.retention };
  for (const [key, value] of Object.entries(retention) as [keyof RetentionPolicy, unknown][]) {
    if (value === 0 || value === 'off') delete retention[key];
  }
  validatePolicy(retention);
  if (changes.interval !== undefined && changes.interval !== 'off' && parseInterval(changes.interval) === undefined) {
    throw new BotsyncError('BAD_INPUT', `"${changes.interval}" is not an interval.`, { hint: 'Use a number and a unit: 90s, 30m, 6h, 24h, 7d, or off for no schedule.' });
  }
  return {
    remote,
    encryption,
    exclude: changes.exclude === undefined ? (current?.exclude ?? []) : changes.exclude || [],
    retention,
    interval: changes.interval === undefined ? (current?.interval ?? null) : changes.interval === 'off' ? null : changes.interval,
    includeState: changes.includeState ?? current?.includeState ?? false,
  };
}

/** The encryption the changes name, if they name one. */
function encryptionOf(changes: BackupChanges): BackupEncryption | undefined {
  if (changes.recipient !== undefined && changes.passphraseEnv !== undefined) {
    throw new BotsyncError('BAD_INPUT', 'Choose one of --recipient and --passphrase-env, not both.', {
      hint: '--recipient age1... needs no secret on this machine; --passphrase-env VAR names the variable holding the passphrase.',
    });
  }
  if (changes.recipient !== undefined) return { type: 'x25519', recipient: parseRecipient(changes.recipient) };
  if (changes.passphraseEnv === undefined) return undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(changes.passphraseEnv)) {
    throw new BotsyncError('BAD_INPUT', `"${changes.passphraseEnv}" is not an environment variable name.`, { hint: 'Pass the NAME of the variable holding the passphrase, never the passphrase.' });
  }
  return { type: 'scrypt', passphraseEnv: changes.passphraseEnv };
}

/** Applies `backup config`'s changes to the stored settings and saves the result. */
export async function configureBackup(layout: Layout, changes: BackupChanges): Promise<BackupSettings> {
  let current: BackupSettings | undefined;
  try {
    current = await readBackupSettings(layout);
  } catch (error) {
    // A broken file is replaced by a complete configuration; anything less would have to guess the rest.
    if (!isBotsyncError(error, 'STATE_CORRUPT') || changes.remote === undefined || encryptionOf(changes) === undefined) throw error;
  }
  const settings = applyChanges(current, changes);
  await saveBackupSettings(layout, settings);
  return settings;
}

/** The settings, or undefined when backups are not set up. */
export async function readBackupSettings(layout: Layout): Promise<BackupSettings | undefined> {
  try {
    return await loadBackupSettings(layout);
  } catch (error) {
    if (isBotsyncError(error, 'BACKUP_NOT_CONFIGURED')) return undefined;
    throw error;
  }
}

/** Removes the settings (the daemon's schedule ends with them); the snapshots stay where they are. Returns what was removed. */
export async function removeBackupSettings(layout: Layout): Promise<BackupSettings | undefined> {
  let current: BackupSettings | undefined;
  try {
    current = await readBackupSettings(layout);
  } catch (error) {
    // A broken file is removed all the same: it named no backup that could run.
    if (!isBotsyncError(error, 'STATE_CORRUPT')) throw error;
  }
  await rm(layout.backupSettingsFile, { force: true });
  return current;
}

/** The passphrase from its variable, or BACKUP_NOT_CONFIGURED naming the variable. */
export function passphraseFrom(encryption: BackupEncryption, env: NodeJS.ProcessEnv): string | undefined {
  if (encryption.type !== 'scrypt') return undefined;
  const passphrase = env[encryption.passphraseEnv];
  if (passphrase === undefined || passphrase === '') {
    throw new BotsyncError('BACKUP_NOT_CONFIGURED', `The backup passphrase variable ${encryption.passphraseEnv} is not set.`, {
      hint: `Export ${encryption.passphraseEnv} (botsync reads the passphrase from it; it is never stored).`,
    });
  }
  return passphrase;
}
