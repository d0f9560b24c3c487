import { settle, type SettleDirection, type SettledFolder } from '../../src/folders/settle.js';
import type { Context } from '../context.js';
import { dim, green, yellow } from '../output.js';

/** `pull` and `push` print alike; exit 1 when a folder did not come to match (a peer not connected, say). */
export async function runSettle(context: Context, direction: SettleDirection, folder?: string): Promise<number> {
  const report = await settle(context.layout, direction, folder);
  context.out.result(report, () => report.folders.map(line).join('\n'));
  return report.folders.every((settled) => settled.inSync) ? 0 : 1;
}

function line(settled: SettledFolder): string {
  const what =
    settled.method === 'revert'
      ? `${settled.changed} local ${settled.changed === 1 ? 'change' : 'changes'} replaced by the peers' versions`
      : settled.method === 'override'
        ? `${settled.changed} ${settled.changed === 1 ? 'item' : 'items'} the peers had changed set back to this machine's`
        : `${settled.changed} ${settled.changed === 1 ? 'item' : 'items'} taken from the peers, nothing overridden`;
  const end = settled.inSync ? green('in sync') : yellow(`${settled.left} still differing: are the peers connected? (\`botsync status\`)`);
  const kept = settled.changed > 0 && settled.method !== 'wait' ? dim(' Replaced files are in versions (`botsync versions`).') : '';
  return `${settled.folder}/  ${what}; ${end}.${kept}`;
}
