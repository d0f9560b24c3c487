import { removeBackupSettings } from '../../src/backup/settings.js';
import { askDaemonOr } from '../../src/ipc/client.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

export async function run(context: Context): Promise<void> {
  await loadConfig(context.layout);
  const removed = await removeBackupSettings(context.layout);
  // The daemon's schedule ends once it finds no settings.
  await askDaemonOr(context.layout, 'backup.reload', undefined, () => undefined);
  context.out.result({ removed: removed !== undefined, remote: removed?.remote ?? null }, () =>
    removed === undefined
      ? 'Backups were not set up; nothing changed.'
      : `Backups are off: no schedule, and \`backup now\` needs \`botsync backup config\` again. The snapshots on ${removed.remote} stay.`,
  );
}
