import { removePeer } from '../../src/mesh/peers.js';
import type { Context } from '../context.js';

export async function run(context: Context, nameOrId: string): Promise<void> {
  const change = await removePeer(context.layout, nameOrId);
  context.out.result({ peer: change.peer, applied: change.applied }, () => `Removed ${change.peer.name} (${change.peer.deviceId}); nothing is synced with it any more.`);
}
