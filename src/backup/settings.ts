import { BotsyncError } from '../errors.js';
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

/** Checks what `backup config` was given; exit 2 with a hint for anything malformed. */
export function validateSettings(input: {
  remote: string;
  recipient?: string;
  passphraseEnv?: string;
  exclude: string[];
  retention: RetentionPolicy;
  interval?: string;
  includeState?: boolean;
}): BackupSettings {
  if (!/^[^:\s]*:/.test(input.remote)) {
    throw new BotsyncError('BAD_INPUT', `"${input.remote}" is not an rclone remote path.`, { hint: 'Use REMOTE:PATH (e.g. mydrive:backups/botsync) or :local:/path/to/dir.' });
  }
  if ((input.recipient === undefined) === (input.passphraseEnv === undefined)) {
    throw new BotsyncError('BAD_INPUT', 'Choose exactly one of --recipient and --passphrase-env.', {
      hint: '--recipient age1... needs no secret on this machine; --passphrase-env VAR names the variable holding the passphrase.',
    });
  }
  if (input.passphraseEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(input.passphraseEnv)) {
    throw new BotsyncError('BAD_INPUT', `"${input.passphraseEnv}" is not an environment variable name.`, { hint: 'Pass the NAME of the variable holding the passphrase, never the passphrase.' });
  }
  validatePolicy(input.retention);
  if (input.interval !== undefined && parseInterval(input.interval) === undefined) {
    throw new BotsyncError('BAD_INPUT', `"${input.interval}" is not an interval.`, { hint: 'Use a number and a unit: 90s, 30m, 6h, 24h, 7d.' });
  }
  return {
    remote: input.remote,
    encryption: input.recipient !== undefined ? { type: 'x25519', recipient: parseRecipient(input.recipient) } : { type: 'scrypt', passphraseEnv: input.passphraseEnv! },
    exclude: input.exclude,
    retention: input.retention,
    interval: input.interval ?? null,
    includeState: input.includeState === true,
  };
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
