import { DEFAULT_DIFF_LIMIT, diffPeers, type DiffEntry, type PeerDiff } from '../../src/folders/delivery.js';
import { humanSize } from '../../src/notify/format.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { bold, dim, green, yellow } from '../output.js';

interface DiffFlags {
  limit?: string;
}

/** One document per peer (NDJSON with --json). Names come from other machines, so they are shown quoted. */
export async function run(context: Context, peer: string | undefined, flags: DiffFlags): Promise<void> {
  const config = await loadConfig(context.layout);
  const limit = flags.limit === undefined ? DEFAULT_DIFF_LIMIT : Number(flags.limit);
  const diffs = await diffPeers(context.layout, config, { peer, limit });
  if (diffs.length === 0) context.out.note('No peers yet: nothing to compare.');
  for (const diff of diffs) context.out.step(diff, () => render(diff));
}

function render(diff: PeerDiff): string {
  const inSync = diff.theyNeed.length + diff.weNeed.length + diff.localChanges.length === 0;
  const state = diff.connected ? '' : dim(' (not connected: as it was when last seen)');
  if (inSync) return `${bold(diff.peer)}${state}  ${green('in sync')}`;
  return [
    `${bold(diff.peer)}${state}`,
    ...list(`${diff.peer} needs from this machine`, diff.theyNeed, diff.more.theyNeed),
    ...list('this machine needs', diff.weNeed, diff.more.weNeed),
    ...list('changed here, never sent (receive-only; `botsync pull FOLDER` drops them)', diff.localChanges, diff.more.localChanges),
  ].join('\n');
}

function list(title: string, entries: DiffEntry[], more: number): string[] {
  if (entries.length === 0) return [];
  return [
    `  ${title}:`,
    ...entries.map((entry) => `    ${entry.folder}/${JSON.stringify(entry.path)}  ${entry.deleted ? yellow('deleted') : humanSize(entry.size)}`),
    ...(more > 0 ? [dim(`    ... and ${more} more (--limit N shows more)`)] : []),
  ];
}
