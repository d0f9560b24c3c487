import { loadBackupSettings } from '../../src/backup/settings.js';
import { pruneSnapshots } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';

export async function run(context: Context, flags: { dryRun?: boolean }): Promise<void> {
  const result = await pruneSnapshots(await loadBackupSettings(context.layout), context.env, flags.dryRun === true);
  const kept = result.decisions.filter((d) => d.keep);
  context.out.result({ dryRun: flags.dryRun === true, kept: kept.map((d) => ({ name: d.snapshot.name, reasons: d.reasons })), removed: result.removed }, () =>
    [...kept.map((d) => `keep    ${d.snapshot.name}  (${d.reasons.join(', ')})`), ...result.removed.map((name) => `${flags.dryRun === true ? 'would remove' : 'removed'} ${name}`)].join('\n') || 'No snapshots.',
  );
}
