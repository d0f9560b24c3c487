import { addPairedPeer } from '../../src/mesh/pairing-peers.js';
import { addPeer } from '../../src/mesh/peers.js';
import { authenticationString, isDirectCode, parseDirectCode } from '../../src/pairing/direct-code.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Role } from '../../src/workspace/roles.js';
import type { Context } from '../context.js';
import { dim } from '../output.js';

interface AddFlags {
  name?: string;
  address: string[];
  role?: Role;
}

export async function run(context: Context, idOrCode: string, flags: AddFlags): Promise<void> {
  // A direct code carries the peer's details; the check number needs this machine's device ID too.
  const config = isDirectCode(idOrCode) ? await loadConfig(context.layout) : undefined;
  const change =
    config !== undefined
      ? await addPairedPeer(context.layout, parseDirectCode(idOrCode), flags.name)
      : await addPeer(context.layout, { deviceId: idOrCode, name: flags.name, addresses: flags.address, role: flags.role });
  const { peer } = change;
  const check = config === undefined ? undefined : authenticationString(config.deviceId, peer.deviceId);
  context.out.result({ peer, applied: change.applied, ...(check === undefined ? {} : { authenticationString: check }) }, () =>
    [
      `Added ${peer.name} (${peer.role}, ${peer.deviceId}).`,
      ...(check === undefined ? [] : [`Check number: ${check} (the other machine shows the same one if this is the right machine).`]),
      change.applied
        ? dim('Shared the folders with it; it connects once it has added this machine too.')
        : dim('botsync is not running: the peer is saved and applied when you run `botsync start`.'),
    ].join('\n'),
  );
}
