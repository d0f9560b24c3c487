import { approvePeer } from '../../src/mesh/peers.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

export async function run(context: Context, nameOrId: string): Promise<void> {
  const change = await approvePeer(context.layout, nameOrId);
  const { peer } = change;
  context.out.result({ peer, applied: change.applied }, () =>
    [
      `Approved ${peer.name} (${peer.role}, ${peer.deviceId}); the folders are shared with it by role.`,
      ...(change.applied ? [] : [dim('botsync is not running: the peer is saved and applied when you run `botsync start`.')]),
    ].join('\n'),
  );
}
