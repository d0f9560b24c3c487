import { readBackupState } from '../../src/backup/backup-state.js';
import { loadBackupSettings } from '../../src/backup/settings.js';
import { parseInterval } from '../../src/lib/time/duration.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<void> {
  const settings = await loadBackupSettings(context.layout);
  const state = await readBackupState(context.layout);
  const interval = settings.interval === null ? undefined : parseInterval(settings.interval);
  const nextRun = interval === undefined ? null : new Date((state.lastSuccess === null ? Date.now() : Date.parse(state.lastSuccess.at)) + interval).toISOString();
  const status = { remote: settings.remote, interval: settings.interval, lastSuccess: state.lastSuccess, lastFailure: state.lastFailure, nextRun };
  context.out.result(status, () =>
    [
      `Backups to ${settings.remote}${settings.interval === null ? ' (no schedule)' : `, every ${settings.interval}`}.`,
      `last success: ${state.lastSuccess === null ? 'never' : `${state.lastSuccess.at} (${state.lastSuccess.name})`}`,
      `last failure: ${state.lastFailure === null ? 'none' : `${state.lastFailure.at} while ${state.lastFailure.stage}: ${state.lastFailure.message}`}`,
      ...(nextRun === null ? [] : [`next run: ${nextRun}`]),
    ].join('\n'),
  );
}
