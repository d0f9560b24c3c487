import { addressesAnsweringAs } from '../net/probe.js';
import { encodeDetails, type HostDetails, type MachineDetails } from '../pairing/details.js';
import { knownDevices, loadConfig, type BotsyncConfig, type PeerRecord } from '../workspace/config.js';
import { FOLDERS, sharedBetween } from '../workspace/roles.js';
import { addressKind } from './address.js';
import { offerLabel } from '../folders/offers.js';
import type { Layout } from '../workspace/layout.js';
import { changePeerHere, withPeer, type AddPeerInput, type PeerChange } from './peers.js';
import { askDaemonOrChange } from '../ipc/client.js';

/** How long a direct address may take to answer as the peer before the relay is preferred. */
const PROBE_MS = 1_000;

/**
 * How a machine met through pairing becomes a peer, and what this machine tells a new one: the
 * translation between the sealed pairing details and config.json.
 */

/**
 * Peers the host lists for the guest: like its mesh record, only those it paired with directly, whose
 * roles it knows first hand (see membership.ts). The relay's 4 KiB message limit caps how many fit;
 * machines left out still reach the guest through the mesh records every machine shares.
 */
const MAX_LISTED_PEERS = 12;
/**
 * Folder offers are listed for the guest only while the details stay this small (bytes of JSON): 4 KiB
 * of base64 hold ~3 KiB, less the frame and the seal, and the peers come first. Any offer left out is
 * still offered by Syncthing, in the guest's `folders list`.
 */
const OFFERS_BUDGET = 2_800;

export function detailsOf(config: BotsyncConfig, addresses: string[]): MachineDetails {
  return { deviceId: config.deviceId, name: config.name, addresses, role: config.role };
}

export function hostDetailsFor(config: BotsyncConfig, addresses: string[], guest: MachineDetails): HostDetails {
  const details: HostDetails = {
    ...detailsOf(config, addresses),
    folders: FOLDERS.filter((folder) => sharedBetween(folder, config.role, guest.role)).map((folder) => folder.id),
    peers: config.peers
      .filter((peer) => peer.deviceId !== guest.deviceId && peer.via === undefined)
      .slice(0, MAX_LISTED_PEERS)
      .map((peer) => ({ deviceId: peer.deviceId, name: peer.name, addresses: peer.addresses.filter((a) => a !== 'dynamic'), role: peer.role })),
    offers: [],
  };
  // What the guest's Syncthing will be offered once connected: the added folders shared with every peer (or with it already).
  for (const folder of config.folders ?? []) {
    if (folder.peers !== 'all' && !folder.peers.includes(guest.deviceId)) continue;
    const offers = [...details.offers, { id: folder.id, label: offerLabel(folder) }];
    if (encodeDetails({ ...details, offers }).length > OFFERS_BUDGET) break;
    details.offers = offers;
  }
  return details;
}

/**
 * The peer entry for a machine met through pairing. Its name is kept unless another peer has it; its
 * addresses are dialled as given, plus discovery where the network profile has it.
 */
export function peerInputFor(config: BotsyncConfig, machine: MachineDetails): AddPeerInput {
  const addresses = config.network === 'loopback' ? machine.addresses : ['dynamic', ...machine.addresses.filter((a) => a !== 'dynamic')];
  return { deviceId: machine.deviceId, name: uniqueName(config, machine.deviceId, machine.name), addresses, role: machine.role, announced: machine.name };
}

/** The name a device calls itself, or with `-2`, `-3`... when another known device has it here already. */
export function uniqueName(config: BotsyncConfig, deviceId: string, wanted: string): string {
  const taken = new Set(knownDevices(config).filter((peer) => peer.deviceId !== deviceId).map((peer) => peer.name));
  let name = wanted;
  for (let n = 2; taken.has(name); n++) name = `${wanted}-${n}`;
  return name;
}

/**
 * The addresses to dial a just-paired machine on first: those of its direct TCP addresses that answer
 * as it right now, then its relays. Undefined when that would leave nothing to dial, or on loopback,
 * whose static addresses are all there is.
 */
export async function dialFirstFor(config: BotsyncConfig, machine: MachineDetails): Promise<string[] | undefined> {
  if (config.network === 'loopback') return undefined;
  const answering = await addressesAnsweringAs(machine.addresses, machine.deviceId, PROBE_MS);
  const first = [...answering, ...machine.addresses.filter((address) => addressKind(address) === 'relay')];
  return first.length > 0 ? first : undefined;
}

/** The change to config.json that a pairing with `machine` makes: `peers.paired` in the daemon, or addPairedPeer without one. */
export type Pairing = (config: BotsyncConfig) => { config: BotsyncConfig; peer: PeerRecord };

/**
 * A pairing's change to config.json: the machine added (or updated) as a peer, dialled first where it
 * answers (`dialFirstFor`). `written`: the `pairedAt` of the entry `join` wrote for this same pairing
 * while its daemon started (addPairedPeer); an entry still as written then is kept as it is, addresses
 * probed and all, so that a second write of the same pairing changes nothing, probes nothing, and
 * costs Syncthing no apply.
 */
export async function pairingOf(config: BotsyncConfig, machine: MachineDetails, options: { name?: string; written?: string } = {}): Promise<Pairing> {
  const asWritten = (current: BotsyncConfig) => (options.written === undefined ? undefined : current.peers.find((peer) => peer.deviceId === machine.deviceId && peer.pairedAt === options.written));
  // An entry as written was probed when it was written: its addresses serve again if it changed meanwhile.
  const written = asWritten(config);
  const dialFirst = written === undefined ? await dialFirstFor(config, machine) : written.dialFirst?.addresses;
  return (current) => {
    const kept = asWritten(current);
    if (kept !== undefined) return { config: current, peer: kept };
    return withPeer(current, { ...peerInputFor(current, machine), ...(options.name === undefined ? {} : { name: options.name }), dialFirst });
  };
}

/**
 * Adds a machine met through a pairing (relay or direct code): through the daemon, or into config.json
 * when no daemon answers (one still starting applies it as it starts).
 */
export function addPairedPeer(layout: Layout, machine: MachineDetails, name?: string): Promise<PeerChange> {
  return askDaemonOrChange(layout, 'peers.paired', { machine, name }, async () => changePeerHere(layout, await pairingOf(await loadConfig(layout), machine, { name })));
}
