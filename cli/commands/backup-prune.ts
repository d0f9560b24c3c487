import { loadBackupSettings } from '../../src/backup/settings.js';
import { pruneSnapshots } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';

export async function run(context: Context, flags: { dryRun?: boolean }): Promise<void> {
  const result = await pruneSnapshots(context.layout, await loadBackupSettings(context.layout), context.env, flags.dryRun === true);
  const kept = result.decisions.filter((d) => d.keep);
  const removing = flags.dryRun === true ? 'would remove' : 'removed';
  context.out.result({ dryRun: flags.dryRun === true, kept: kept.map((d) => ({ name: d.snapshot.name, reasons: d.reasons })), removed: result.removed, leftovers: result.leftovers }, () =>
    [
      ...kept.map((d) => `keep    ${d.snapshot.name}  (${d.reasons.join(', ')})`),
      ...result.removed.map((name) => `${removing} ${name}`),
      ...result.leftovers.map((name) => `${removing} ${name} (left by an interrupted backup)`),
    ].join('\n') || 'No snapshots.',
  );
}
