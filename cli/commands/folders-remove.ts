import { removeFolder, type FolderChange } from '../../src/folders/added.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

export async function run(context: Context, id: string): Promise<void> {
  const change = await removeFolder(context.layout, id);
  describeChange(context, change, [`Stopped syncing folder ${change.folder.id} on this machine; its files stay in ${change.folder.path}, and the peers keep theirs.`, ...offeredAgain(change)].join('\n'));
}

/**
 * Syncthing 1.19 hears a peer's folders only when they connect or the peer's own folders change: the
 * offer of a folder removed here is not listed again until then. botsync does not force a
 * reconnection to hear it sooner: that would interrupt every folder shared with the peer and announce
 * a disconnection on both machines.
 */
function offeredAgain(change: FolderChange): string[] {
  if (change.folder.peers.length === 0) return [];
  const peers = change.folder.peers.map((name) => JSON.stringify(name)).join(', ');
  return [dim(`If ${peers} still ${change.folder.peers.length === 1 ? 'shares' : 'share'} it, their offer is listed again in \`botsync folders list\` when you next connect to them (\`botsync folders accept ${change.folder.id}\` then takes it up again).`)];
}

/** What `folders add|accept|remove` print: the folder (--json), or a sentence and whether Syncthing has it yet. */
export function describeChange(context: Context, change: FolderChange, done: string): void {
  context.out.result(change, () => [done, ...(change.applied ? [] : [dim('botsync is not running: the change is saved and applied when you run `botsync start`.')])].join('\n'));
}
