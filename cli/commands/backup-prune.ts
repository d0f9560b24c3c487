import { loadBackupSettings } from '../../src/backup/settings.js';
import { pruneSnapshots } from '../../src/backup/snapshot.js';
import type { Context } from '../context.js';
import { noteProblems } from './backup-report.js';

export async function run(context: Context, flags: { dryRun?: boolean; allHosts?: boolean }): Promise<void> {
  const dryRun = flags.dryRun === true;
  const allHosts = flags.allHosts === true;
  const result = await pruneSnapshots(context.layout, await loadBackupSettings(context.layout), context.env, dryRun, { allHosts });
  noteProblems(context, result.unreadable);
  const kept = result.decisions.filter((d) => d.keep);
  const removing = dryRun ? 'would remove' : 'removed';
  const json = { dryRun, allHosts, kept: kept.map((d) => ({ name: d.snapshot.name, host: d.host, reasons: d.reasons })), removed: result.removed, otherHosts: result.otherHosts, unverified: result.unverified, leftovers: result.leftovers, unreadable: result.unreadable };
  context.out.result(json, () =>
    [
      ...kept.map((d) => `keep    ${d.snapshot.name}  ${allHosts ? `${d.host}  ` : ''}(${d.reasons.join(', ')})`),
      ...result.removed.map((name) => `${removing} ${name}`),
      ...result.leftovers.map((name) => `${removing} ${name} (left by an interrupted backup)`),
      ...(result.otherHosts === 0 ? [] : [`left alone: ${result.otherHosts} snapshots of other hosts (--all-hosts prunes each host's by the policy)`]),
      ...result.unverified.map((name) => `left alone: ${name} names this host but is not signed by this home's key (forged, or older than signing; --all-hosts prunes it)`),
    ].join('\n') || 'No snapshots.',
  );
}
