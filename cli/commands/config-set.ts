import { changeSetting } from '../../src/mesh/settings.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

export async function run(context: Context, key: string, value: string): Promise<void> {
  const change = await changeSetting(context.layout, key, value);
  context.out.result(change, () =>
    [`${key} = ${change.value}`, change.applied ? dim('Applied to Syncthing.') : dim('Saved; the daemon applies it when it starts (`botsync start`).')].join('\n'),
  );
}
