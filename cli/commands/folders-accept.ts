import { acceptFolder } from '../../src/folders/added.js';
import type { Context } from '../context.js';
import { describeChange } from './folders-remove.js';

export async function run(context: Context, id: string, path: string | undefined): Promise<void> {
  const change = await acceptFolder(context.layout, { id, ...(path === undefined ? {} : { path }) });
  describeChange(context, change, `Accepted folder ${change.folder.id} (${change.folder.type}${change.folder.preset === undefined ? '' : `, preset ${change.folder.preset}`}) at ${change.folder.path}, shared with ${change.folder.peers.map((name) => JSON.stringify(name)).join(', ')}.`);
}
