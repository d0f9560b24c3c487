import { nextBackupAt, readBackupState } from '../../src/backup/backup-state.js';
import { loadBackupSettings, type BackupSettings } from '../../src/backup/settings.js';
import { isBotsyncError, type BotsyncError } from '../../src/errors.js';
import { parseInterval } from '../../src/lib/time/duration.js';
import type { Context } from '../context.js';

/** The last outcomes and the next run; corrupt settings still show what the schedule recorded, and exit 1. */
export async function run(context: Context): Promise<number> {
  const state = await readBackupState(context.layout);
  let settings: BackupSettings | undefined;
  let broken: BotsyncError | undefined;
  try {
    settings = await loadBackupSettings(context.layout);
  } catch (error) {
    if (!isBotsyncError(error, 'STATE_CORRUPT')) throw error;
    broken = error;
  }
  const interval = settings === undefined || settings.interval === null ? undefined : parseInterval(settings.interval);
  const nextRun = interval === undefined ? null : new Date(nextBackupAt(interval, state)).toISOString();
  const status = {
    remote: settings?.remote ?? null,
    interval: settings?.interval ?? null,
    lastSuccess: state.lastSuccess,
    lastFailure: state.lastFailure,
    nextRun,
    ...(broken === undefined ? {} : { settingsError: broken.message }),
  };
  context.out.result(status, () =>
    [
      settings === undefined
        ? `Backup settings unreadable: ${broken!.message}${broken!.hint === undefined ? '' : ` ${broken!.hint}`}`
        : `Backups to ${settings.remote}${settings.interval === null ? ' (no schedule)' : `, every ${settings.interval}`}.`,
      `last success: ${state.lastSuccess === null ? 'never' : `${state.lastSuccess.at} (${state.lastSuccess.name})`}`,
      `last failure: ${state.lastFailure === null ? 'none' : `${state.lastFailure.at} while ${state.lastFailure.stage}: ${state.lastFailure.message}`}`,
      ...(nextRun === null ? [] : [`next run: ${nextRun}`]),
    ].join('\n'),
  );
  return broken === undefined ? 0 : 1;
}
