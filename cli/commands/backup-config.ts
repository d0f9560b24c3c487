import type { RetentionPolicy } from '../../src/backup/retention.js';
import { saveBackupSettings, validateSettings } from '../../src/backup/settings.js';
import { ensureSigningKey } from '../../src/backup/signing.js';
import { askDaemonOr } from '../../src/ipc/client.js';
import { BotsyncError } from '../../src/errors.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

interface ConfigFlags {
  remote: string;
  recipient?: string;
  passphraseEnv?: string;
  exclude: string[];
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  interval?: string;
  includeState?: boolean;
}

export async function run(context: Context, flags: ConfigFlags): Promise<void> {
  await loadConfig(context.layout);
  const retention: RetentionPolicy = {};
  for (const [flag, key] of [['keepLast', 'last'], ['keepHourly', 'hourly'], ['keepDaily', 'daily'], ['keepWeekly', 'weekly'], ['keepMonthly', 'monthly'], ['keepYearly', 'yearly']] as const) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (!/^(\d+|unlimited)$/.test(value)) {
      throw new BotsyncError('BAD_INPUT', `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} takes a whole number or "unlimited", not "${value}".`, { hint: 'For example --keep-daily 7.' });
    }
    // restic's spelling of unlimited; JSON cannot hold Infinity.
    retention[key] = value === 'unlimited' ? -1 : Number(value);
  }
  if (flags.keepWithin !== undefined) retention.within = flags.keepWithin;
  const settings = validateSettings({ ...flags, retention });
  await saveBackupSettings(context.layout, settings);
  // Passphrase snapshots need no signature: only someone who knows the passphrase can write one.
  const signer = (await ensureSigningKey(context.layout)).publicKey;
  // Without a running daemon the schedule starts with `botsync start`.
  await askDaemonOr(context.layout, 'backup.reload', undefined, () => undefined);
  context.out.result({ ...settings, signer }, () =>
    [
      `Backups go to ${settings.remote}, encrypted ${settings.encryption.type === 'x25519' ? `to ${settings.encryption.recipient}` : `with the passphrase in ${settings.encryption.passphraseEnv}`}.`,
      settings.encryption.type === 'x25519'
        ? `Snapshots are signed by this home's key ${signer}: keep a copy, to check them with --signer after losing every machine.`
        : `Snapshots are signed by this home's key ${signer}, which tells prune this home's snapshots from others'; the passphrase authenticates them.`,
      settings.interval === null ? 'No schedule: run `botsync backup now`.' : `The daemon backs up every ${settings.interval}.`,
      ...(settings.includeState ? ["Snapshots include botsync's state (peers, role, settings), without secrets."] : []),
    ].join('\n'),
  );
}
