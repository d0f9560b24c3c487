import { removeFolder, type FolderChange } from '../../src/folders/added.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

export async function run(context: Context, id: string): Promise<void> {
  const change = await removeFolder(context.layout, id);
  describeChange(context, change, `Stopped syncing folder ${change.folder.id} on this machine; its files stay in ${change.folder.path}, and the peers keep theirs.`);
}

/** What `folders add|accept|remove` print: the folder (--json), or a sentence and whether Syncthing has it yet. */
export function describeChange(context: Context, change: FolderChange, done: string): void {
  context.out.result(change, () => [done, ...(change.applied ? [] : [dim('botsync is not running: the change is saved and applied when you run `botsync start`.')])].join('\n'));
}
