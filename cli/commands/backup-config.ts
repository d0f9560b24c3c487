import type { RetentionPolicy } from '../../src/backup/retention.js';
import { configureBackup, readBackupSettings, type BackupSettings } from '../../src/backup/settings.js';
import { ensureSigningKey, loadSigningKey } from '../../src/backup/signing.js';
import { askDaemonOr } from '../../src/ipc/client.js';
import { BotsyncError } from '../../src/errors.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

interface ConfigFlags {
  show?: boolean;
  remote?: string;
  recipient?: string;
  passphraseEnv?: string;
  /** false: --no-exclude. */
  exclude?: string[] | false;
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
  const { show, ...changes } = flags;
  if (show === true) {
    const given = Object.keys(changes).map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    if (given.length > 0) throw new BotsyncError('USAGE', `--show only shows the configuration; ${given.join(', ')} would change it.`, { hint: 'Run `botsync backup config --show` alone, or without --show to change the options given.' });
    return showSettings(context);
  }
  const retention: RetentionPolicy = {};
  for (const [flag, key] of [['keepLast', 'last'], ['keepHourly', 'hourly'], ['keepDaily', 'daily'], ['keepWeekly', 'weekly'], ['keepMonthly', 'monthly'], ['keepYearly', 'yearly']] as const) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (!/^(\d+|unlimited)$/.test(value)) {
      throw new BotsyncError('BAD_INPUT', `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} takes a whole number or "unlimited", not "${value}".`, { hint: 'For example --keep-daily 7 (0 turns the rule off).' });
    }
    // restic's spelling of unlimited; JSON cannot hold Infinity.
    retention[key] = value === 'unlimited' ? -1 : Number(value);
  }
  if (flags.keepWithin !== undefined) retention.within = flags.keepWithin;
  const settings = await configureBackup(context.layout, { ...changes, retention });
  // Passphrase snapshots need no signature: only someone who knows the passphrase can write one.
  const signer = (await ensureSigningKey(context.layout)).publicKey;
  // Without a running daemon the schedule starts with `botsync start`.
  await askDaemonOr(context.layout, 'backup.reload', undefined, () => undefined);
  context.out.result({ ...settings, signer }, () => describe(settings, signer));
}

/** The configuration as stored (it holds no secret: a passphrase is only named by its variable). */
async function showSettings(context: Context): Promise<void> {
  const settings = await readBackupSettings(context.layout);
  if (settings === undefined) {
    context.out.result({ configured: false }, () => 'Backups are not set up. `botsync backup config --remote REMOTE:PATH --recipient age1...` sets them up.');
    return;
  }
  const signer = (await loadSigningKey(context.layout))?.publicKey ?? null;
  context.out.result({ configured: true, ...settings, signer }, () => describe(settings, signer));
}

function describe(settings: BackupSettings, signer: string | null): string {
  const { retention } = settings;
  const rules = [
    ...(['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).filter((key) => retention[key] !== undefined).map((key) => `${key} ${retention[key] === -1 ? 'unlimited' : retention[key]}`),
    ...(retention.within === undefined ? [] : [`within ${retention.within}`]),
  ];
  return [
    `Backups go to ${settings.remote}, encrypted ${settings.encryption.type === 'x25519' ? `to ${settings.encryption.recipient}` : `with the passphrase in ${settings.encryption.passphraseEnv}`}.`,
    ...(signer === null
      ? []
      : [
          settings.encryption.type === 'x25519'
            ? `Snapshots are signed by this home's key ${signer}: keep a copy, to check them with --signer after losing every machine.`
            : `Snapshots are signed by this home's key ${signer}, which tells prune this home's snapshots from others'; the passphrase authenticates them.`,
        ]),
    settings.interval === null ? 'No schedule: run `botsync backup now`.' : `The daemon backs up every ${settings.interval}.`,
    `Keep: ${rules.length === 0 ? 'every snapshot' : rules.join(', ')}.`,
    ...(settings.exclude.length === 0 ? [] : [`Left out: ${settings.exclude.join(', ')}.`]),
    ...(settings.includeState ? ["Snapshots include botsync's state (peers, role, settings), without secrets."] : []),
  ].join('\n');
}
