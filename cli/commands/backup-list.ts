import { loadBackupSettings } from '../../src/backup/settings.js';
import { listSnapshots } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';
import { bold, dim, table } from '../output.js';

export async function run(context: Context): Promise<void> {
  const snapshots = await listSnapshots(await loadBackupSettings(context.layout), context.env);
  context.out.result(
    snapshots.map((s) => ({ name: s.name, created: s.created, bytes: s.bytes, files: s.files })),
    () =>
      snapshots.length === 0
        ? dim('No snapshots yet: `botsync backup now` makes one.')
        : table([[bold('name'), bold('created'), bold('size'), bold('entries')], ...snapshots.map((s) => [s.name, s.created, `${(s.bytes / 1e6).toFixed(1)} MB`, String(s.files)])]),
  );
}
