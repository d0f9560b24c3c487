import { changeSetting } from '../../src/mesh/settings.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

/** Settings this machine's mesh record carries: the peers take them from it. */
const ANNOUNCED = new Set(['name', 'role']);

export async function run(context: Context, key: string, value: string): Promise<void> {
  const change = await changeSetting(context.layout, key, value);
  const peers = ANNOUNCED.has(key) ? ' The peers learn it from this machine\'s record.' : '';
  context.out.result(change, () =>
    [`${key} = ${change.value}`, change.applied ? dim(`Applied to Syncthing.${peers}`) : dim(`Saved; the daemon applies it when it starts (\`botsync start\`).${peers}`)].join('\n'),
  );
}
