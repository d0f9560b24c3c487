import { listConflicts } from '../../src/folders/conflicts.js';
import { humanSize } from '../../src/notify/format.js';
import { askDaemonOr } from '../../src/ipc/client.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';
import { bold, dim, table } from '../output.js';

/** The conflict copies in the folders; names come from other machines, so they are shown quoted. */
export async function run(context: Context): Promise<void> {
  const config = await loadConfig(context.layout);
  const conflicts = await askDaemonOr(context.layout, 'conflicts.list', undefined, () => listConflicts(context.layout, config));
  context.out.step(conflicts, () =>
    conflicts.length === 0
      ? dim('No conflicts.')
      : [
          table([
            [bold('file'), bold('conflict copy'), bold('version of'), bold('modified'), bold('size')],
            ...conflicts.map((conflict) => [
              `${conflict.folder}/${JSON.stringify(conflict.path)}`,
              JSON.stringify(conflict.conflictPath),
              conflict.from === null ? dim('unknown') : JSON.stringify(conflict.from),
              conflict.mtime,
              humanSize(conflict.size),
            ]),
          ]),
          '',
          dim('Keep a version: botsync conflicts resolve FOLDER/FILE --keep local|remote|both (or --all --keep newest).'),
        ].join('\n'),
  );
}
