import type { HostDetails, MachineDetails } from '../pairing/details.js';
import type { BotsyncConfig } from '../workspace/config.js';
import { FOLDERS, sharedBetween } from '../workspace/roles.js';
import type { AddPeerInput } from './peers.js';

/**
 * How a machine met through pairing becomes a peer, and what this machine tells a new one: the
 * translation between the sealed pairing details and config.json.
 */

/**
 * Peers the host lists for the guest. The relay's 4 KiB message limit caps how many fit; machines left
 * out still reach the guest through the mesh record every machine shares.
 */
const MAX_LISTED_PEERS = 12;

export function detailsOf(config: BotsyncConfig, addresses: string[]): MachineDetails {
  return { deviceId: config.deviceId, name: config.name, addresses, role: config.role };
}

export function hostDetailsFor(config: BotsyncConfig, addresses: string[], guest: MachineDetails): HostDetails {
  return {
    ...detailsOf(config, addresses),
    folders: FOLDERS.filter((folder) => sharedBetween(folder, config.role, guest.role)).map((folder) => folder.id),
    peers: config.peers
      .filter((peer) => peer.deviceId !== guest.deviceId)
      .slice(0, MAX_LISTED_PEERS)
      .map((peer) => ({ deviceId: peer.deviceId, name: peer.name, addresses: peer.addresses.filter((a) => a !== 'dynamic'), role: peer.role })),
  };
}

/**
 * The peer entry for a machine met through pairing. Its name is kept unless another peer has it; its
 * addresses are dialled as given, plus discovery where the network profile has it.
 */
export function peerInputFor(config: BotsyncConfig, machine: MachineDetails): AddPeerInput {
  const taken = new Set(config.peers.filter((peer) => peer.deviceId !== machine.deviceId).map((peer) => peer.name));
  let name = machine.name;
  for (let n = 2; taken.has(name); n++) name = `${machine.name}-${n}`;
  const addresses = config.network === 'loopback' ? machine.addresses : ['dynamic', ...machine.addresses.filter((a) => a !== 'dynamic')];
  return { deviceId: machine.deviceId, name, addresses, role: machine.role };
}
