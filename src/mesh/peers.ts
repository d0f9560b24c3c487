import { BotsyncError } from '../errors.js';
import { askDaemonOrChange } from '../ipc/client.js';
import type { RequestOf } from '../ipc/routes.js';
import { parseDeviceId, shortDeviceId } from '../syncthing/device-id.js';
import { defaultPeerAddresses } from '../syncthing/profiles.js';
import { knownDevices, updateConfig, type BotsyncConfig, type PeerRecord, type Revocation } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { otherRole, type Role } from '../workspace/roles.js';
import { parseAddress } from './address.js';

export interface AddPeerInput {
  deviceId: string;
  name?: string;
  addresses?: string[];
  /** The peer's role; by default the opposite of this machine's, the usual agent/human pair. */
  role?: Role;
  /** Addresses to dial alone until the first connection, for at most DIAL_FIRST_MS (see daemon/first-dial.ts). */
  dialFirst?: string[];
  /** The name the machine gave itself, for a machine met through pairing (PeerRecord.announced). */
  announced?: string;
}

/** How long a just-paired peer is dialled on its dial-first addresses alone. */
export const DIAL_FIRST_MS = 60_000;

export interface PeerChange {
  peer: PeerRecord;
  /** Whether a running Syncthing took the change now; otherwise the daemon applies it when it starts. */
  applied: boolean;
}

/**
 * Adds a peer (or updates the one with the same device ID); the daemon shares the folders with it by
 * role.
 */
export function addPeer(layout: Layout, input: AddPeerInput): Promise<PeerChange> {
  return changePeer(layout, 'peers.add', input, (config) => withPeer(config, input));
}

export interface RemoveInput {
  nameOrId: string;
  /** This machine only: the revocation is not published (`peers remove --here`). */
  here: boolean;
}

export function removePeer(layout: Layout, input: RemoveInput): Promise<PeerChange> {
  return changePeer(layout, 'peers.remove', input, (config) => withoutPeer(config, input));
}

/** Adopts an introduced device that waits for approval (`mesh.approve`). */
export function approvePeer(layout: Layout, nameOrId: string): Promise<PeerChange> {
  return changePeer(layout, 'peers.approve', nameOrId, (config) => withApproved(config, nameOrId));
}

type PeerRoute = 'peers.add' | 'peers.remove' | 'peers.approve' | 'peers.paired';

/**
 * A change to one peer: with a daemon running, the daemon makes it (`op`), as the one writer of
 * config.json then; otherwise `edit` is applied to the file, and the daemon applies it when it starts.
 */
export function changePeer<R extends PeerRoute>(layout: Layout, op: R, body: RequestOf<R>, edit: (config: BotsyncConfig) => { config: BotsyncConfig; peer: PeerRecord }): Promise<PeerChange> {
  return askDaemonOrChange(layout, op, body, () => changePeerHere(layout, edit));
}

/** changePeer's work without a daemon: `edit` applied to config.json, under its lock. */
export async function changePeerHere(layout: Layout, edit: (config: BotsyncConfig) => { config: BotsyncConfig; peer: PeerRecord }): Promise<PeerChange> {
  let peer!: PeerRecord;
  await updateConfig(layout, (current) => {
    const edited = edit(current);
    peer = edited.peer;
    return edited.config;
  });
  return { peer, applied: false };
}

/**
 * The config with the peer added or updated: a direct pairing (a code, a direct code, or the user's
 * `peers add`). That is what overrides a revocation (see mesh/membership.ts): it clears this machine's
 * own revocation of the device, and its `pairedAt` outranks older revocations by other members.
 * Validates the input. Pure.
 */
export function withPeer(config: BotsyncConfig, input: AddPeerInput, now = new Date()): { config: BotsyncConfig; peer: PeerRecord } {
  const deviceId = parseDeviceId(input.deviceId);
  if (deviceId === config.deviceId) {
    throw new BotsyncError('BAD_INPUT', "That device ID is this machine's own.", {
      hint: 'Use the ID that `botsync status` prints on the other machine.',
    });
  }
  const addresses = (input.addresses ?? []).map(parseAddress);
  const existing = knownDevices(config).find((peer) => peer.deviceId === deviceId);
  const name = input.name ?? existing?.name ?? shortDeviceId(deviceId);
  const clash = knownDevices(config).find((peer) => peer.name === name && peer.deviceId !== deviceId);
  if (clash !== undefined) {
    throw new BotsyncError('BAD_INPUT', `A peer named "${name}" already exists (${clash.deviceId}).`, {
      hint: 'Choose another name with --name, or remove that peer first.',
    });
  }
  const peer: PeerRecord = {
    deviceId,
    name,
    role: input.role ?? existing?.role ?? otherRole(config.role),
    addresses: addresses.length > 0 ? addresses : (existing?.addresses ?? defaultPeerAddresses(config.network)),
    addedAt: existing?.addedAt ?? now.toISOString(),
    pairedAt: now.toISOString(),
    ...(input.announced ?? existing?.announced ? { announced: input.announced ?? existing?.announced } : {}),
    ...(input.dialFirst === undefined ? {} : { dialFirst: { addresses: input.dialFirst.map(parseAddress), until: new Date(now.getTime() + DIAL_FIRST_MS).toISOString() } }),
  };
  if (peer.addresses.length === 0) {
    throw new BotsyncError('BAD_INPUT', `The ${config.network} network profile has no discovery, so the peer needs an address.`, {
      hint: 'Pass --address tcp://HOST:PORT (the other machine shows it in `botsync status`).',
    });
  }
  // A machine that left its network (`botsync leave`) and pairs again is a member again.
  const { left: _left, ...others } = without(config, deviceId);
  return { config: { ...others, peers: [...others.peers, peer], revoked: others.revoked?.filter((entry) => entry.deviceId !== deviceId) }, peer };
}

/**
 * The config without the named peer (or pending device), which goes on the revoked list: published
 * in this machine's record for every member to honour, or with `here` kept on this machine only.
 * Either way no mesh record brings it back here. Pure.
 */
export function withoutPeer(config: BotsyncConfig, input: RemoveInput, now = new Date()): { config: BotsyncConfig; peer: PeerRecord } {
  const peer = knownPeer(config, input.nameOrId);
  const revocation: Revocation = { deviceId: peer.deviceId, at: now.toISOString(), ...(input.here ? { here: true as const } : {}) };
  const others = without(config, peer.deviceId);
  return { config: { ...others, revoked: [...(others.revoked ?? []).filter((entry) => entry.deviceId !== peer.deviceId), revocation] }, peer };
}

/** The config with a pending device adopted, still marked as introduced by its introducer. Pure. */
export function withApproved(config: BotsyncConfig, nameOrId: string): { config: BotsyncConfig; peer: PeerRecord } {
  const peer = knownPeer(config, nameOrId);
  if (!(config.pending ?? []).includes(peer)) {
    throw new BotsyncError('BAD_INPUT', `${peer.name} is a peer already, not waiting for approval.`, {
      hint: 'See the devices waiting for approval with `botsync peers list`.',
    });
  }
  const others = without(config, peer.deviceId);
  return { config: { ...others, peers: [...others.peers, peer] }, peer };
}

/**
 * The config with one device's entries (peer, pending, revocation) as they are in `snapshot`: undoes a
 * change to that device, e.g. a pairing whose answer could not be sent. Pure.
 */
export function withDeviceAsIn(config: BotsyncConfig, snapshot: BotsyncConfig, deviceId: string): BotsyncConfig {
  const others = without(config, deviceId);
  const mine = <T extends { deviceId: string }>(list: T[] | undefined) => (list ?? []).filter((entry) => entry.deviceId === deviceId);
  return {
    ...others,
    peers: [...others.peers, ...mine(snapshot.peers)],
    pending: [...(others.pending ?? []), ...mine(snapshot.pending)],
    revoked: [...(others.revoked ?? []).filter((entry) => entry.deviceId !== deviceId), ...mine(snapshot.revoked)],
  };
}

/** The config with the device neither a peer nor pending (its revocations untouched). */
function without(config: BotsyncConfig, deviceId: string): BotsyncConfig {
  const others = (list: PeerRecord[]) => list.filter((peer) => peer.deviceId !== deviceId);
  return { ...config, peers: others(config.peers), ...(config.pending === undefined ? {} : { pending: others(config.pending) }) };
}

function knownPeer(config: BotsyncConfig, nameOrId: string): PeerRecord {
  const peer = findPeer(config, nameOrId);
  if (peer === undefined) {
    throw new BotsyncError('UNKNOWN_PEER', `No peer named or with the ID "${nameOrId}".`, {
      hint: 'See the peers with `botsync peers list`.',
    });
  }
  return peer;
}

/** A peer or a device waiting for approval, by name, device ID or a prefix of at least 7 characters of it. */
export function findPeer(config: BotsyncConfig, nameOrId: string): PeerRecord | undefined {
  const candidates = knownDevices(config);
  const byName = candidates.find((peer) => peer.name === nameOrId);
  if (byName !== undefined) return byName;
  const compact = nameOrId.toUpperCase().replace(/[\s-]/g, '');
  return candidates.find((peer) => {
    const id = peer.deviceId.replace(/-/g, '');
    return id === compact || (compact.length >= 7 && id.startsWith(compact));
  });
}

/**
 * A peer of this machine (not a device waiting for approval) by name, device ID or ID prefix; a name
 * that matches none is refused with the peers' names, as a command naming one takes it (diff, pause).
 */
export function namedPeer(config: BotsyncConfig, nameOrId: string): PeerRecord {
  const peer = findPeer(config, nameOrId);
  if (peer !== undefined && config.peers.includes(peer)) return peer;
  const names = config.peers.map((candidate) => candidate.name);
  throw new BotsyncError('UNKNOWN_PEER', `No peer named or with the ID ${JSON.stringify(nameOrId)}${peer === undefined ? '' : ' (it waits for approval)'}.`, {
    hint: names.length === 0 ? 'This machine has no peers yet: pair one with `botsync invite` or `botsync peers add`.' : `The peers are ${names.join(', ')}.`,
  });
}
