import { removePeer } from '../../src/mesh/peers.js';
import type { Context } from '../context.js';

interface RemoveFlags {
  here?: boolean;
}

export async function run(context: Context, nameOrId: string, flags: RemoveFlags): Promise<void> {
  const here = flags.here === true;
  const change = await removePeer(context.layout, { nameOrId, here });
  const { peer } = change;
  context.out.result({ peer, applied: change.applied, revoked: !here }, () =>
    here
      ? `Removed ${peer.name} (${peer.deviceId}) on this machine only; the other machines keep it, and their records do not bring it back here.`
      : `Removed and revoked ${peer.name} (${peer.deviceId}): nothing is synced with it any more, and every machine of this network drops it.`,
  );
}
