import { addPeer } from '../../src/mesh/peers.js';
import type { Role } from '../../src/workspace/roles.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

interface AddFlags {
  name?: string;
  address: string[];
  role?: Role;
}

export async function run(context: Context, deviceId: string, flags: AddFlags): Promise<void> {
  const change = await addPeer(context.layout, { deviceId, name: flags.name, addresses: flags.address, role: flags.role });
  const { peer } = change;
  context.out.result({ peer, applied: change.applied }, () =>
    [
      `Added ${peer.name} (${peer.role}, ${peer.deviceId}).`,
      change.applied
        ? dim('Shared the folders with it; it connects once it has added this machine too.')
        : dim('botsync is not running: the peer is saved and applied when you run `botsync start`.'),
    ].join('\n'),
  );
}
