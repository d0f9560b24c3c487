import { loadBackupSettings } from '../../src/backup/settings.js';
import { listSnapshots } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';
import { bold, dim, table } from '../output.js';
import { noteProblems } from './backup-report.js';

export async function run(context: Context): Promise<void> {
  const { snapshots, unreadable } = await listSnapshots(await loadBackupSettings(context.layout), context.env);
  noteProblems(context, unreadable);
  context.out.result(
    snapshots.map((s) => ({ name: s.name, created: s.created, host: s.host, bytes: s.bytes, files: s.files })),
    () =>
      snapshots.length === 0
        ? dim('No snapshots yet: `botsync backup now` makes one.')
        : table([[bold('name'), bold('created'), bold('host'), bold('size'), bold('entries')], ...snapshots.map((s) => [s.name, s.created, s.host, `${(s.bytes / 1e6).toFixed(1)} MB`, String(s.files)])]),
  );
}
