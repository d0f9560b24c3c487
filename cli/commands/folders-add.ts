import { addFolder } from '../../src/folders/added.js';
import type { AddedFolderType } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { describeChange } from './folders-remove.js';

interface AddFlags {
  id?: string;
  type?: AddedFolderType;
  preset?: string;
  peer: string[];
}

export async function run(context: Context, path: string, flags: AddFlags): Promise<void> {
  const change = await addFolder(context.layout, { path, id: flags.id, type: flags.type, preset: flags.preset, peers: flags.peer });
  describeChange(context, change, `Added folder ${change.folder.id} (${change.folder.type}${change.folder.preset === undefined ? '' : `, preset ${change.folder.preset}`}) at ${change.folder.path}; offered to ${change.folder.peers.length === 0 ? 'every peer paired from now on' : change.folder.peers.map((name) => JSON.stringify(name)).join(', ')}, who accept it with \`botsync folders accept ${change.folder.id}\`.`);
}
