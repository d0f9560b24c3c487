import { listFolders } from '../../src/folders/added.js';
import type { Context } from '../context.js';
import { bold, dim, table, yellow } from '../output.js';

/** The folders synced here, then those peers offer (`offered: true`), to accept with `folders accept`. */
export async function run(context: Context): Promise<void> {
  const folders = await listFolders(context.layout);
  context.out.result(folders, () =>
    table([
      [bold('folder'), bold('type'), bold('preset'), bold('peers'), bold('path')],
      ...folders.map((folder) => [
        folder.offered === true ? yellow(`${folder.id} (offered: \`botsync folders accept ${folder.id} [PATH]\`)`) : folder.id,
        folder.type,
        folder.preset ?? dim('-'),
        folder.peers.length === 0 ? dim('none yet') : folder.peers.map((name) => JSON.stringify(name)).join(', '),
        folder.offered === true ? dim(`${folder.path} (when accepted)`) : folder.path,
      ]),
    ]),
  );
}
