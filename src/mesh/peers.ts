import { BotsyncError } from '../errors.js';
import { askDaemonIfRunning } from '../daemon/control-socket.js';
import { parseDeviceId, shortDeviceId } from '../syncthing/device-id.js';
import { defaultPeerAddresses } from '../syncthing/profiles.js';
import { loadConfig, saveConfig, type BotsyncConfig, type PeerRecord } from '../workspace/config.js';
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
 * role. With a daemon running, the daemon makes the change: it is the one writer of config.json then.
 */
export async function addPeer(layout: Layout, input: AddPeerInput): Promise<PeerChange> {
  const viaDaemon = await askDaemonIfRunning<PeerChange>(layout, 'peers.add', input);
  if (viaDaemon !== undefined) return viaDaemon;
  const { config, peer } = withPeer(await loadConfig(layout), input);
  await saveConfig(layout, config);
  return { peer, applied: false };
}

export async function removePeer(layout: Layout, nameOrId: string): Promise<PeerChange> {
  const viaDaemon = await askDaemonIfRunning<PeerChange>(layout, 'peers.remove', nameOrId);
  if (viaDaemon !== undefined) return viaDaemon;
  const { config, peer } = withoutPeer(await loadConfig(layout), nameOrId);
  await saveConfig(layout, config);
  return { peer, applied: false };
}

/** The config with the peer added or updated; validates the input. Pure. */
export function withPeer(config: BotsyncConfig, input: AddPeerInput, now = new Date()): { config: BotsyncConfig; peer: PeerRecord } {
  const deviceId = parseDeviceId(input.deviceId);
  if (deviceId === config.deviceId) {
    throw new BotsyncError('BAD_INPUT', "That device ID is this machine's own.", {
      hint: 'Use the ID that `botsync status` prints on the other machine.',
    });
  }
  const addresses = (input.addresses ?? []).map(parseAddress);
  const existing = config.peers.find((peer) => peer.deviceId === deviceId);
  const name = input.name ?? existing?.name ?? shortDeviceId(deviceId);
  const clash = config.peers.find((peer) => peer.name === name && peer.deviceId !== deviceId);
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
    ...(input.dialFirst === undefined ? {} : { dialFirst: { addresses: input.dialFirst.map(parseAddress), until: new Date(now.getTime() + DIAL_FIRST_MS).toISOString() } }),
  };
  if (peer.addresses.length === 0) {
    throw new BotsyncError('BAD_INPUT', `The ${config.network} network profile has no discovery, so the peer needs an address.`, {
      hint: 'Pass --address tcp://HOST:PORT (the other machine shows it in `botsync status`).',
    });
  }
  return { config: { ...config, peers: [...config.peers.filter((p) => p.deviceId !== deviceId), peer] }, peer };
}

/** The config without the named peer. Pure. */
export function withoutPeer(config: BotsyncConfig, nameOrId: string): { config: BotsyncConfig; peer: PeerRecord } {
  const peer = findPeer(config, nameOrId);
  if (peer === undefined) {
    throw new BotsyncError('UNKNOWN_PEER', `No peer named or with the ID "${nameOrId}".`, {
      hint: 'See the peers with `botsync peers list`.',
    });
  }
  return { config: { ...config, peers: config.peers.filter((p) => p.deviceId !== peer.deviceId) }, peer };
}

export function findPeer(config: BotsyncConfig, nameOrId: string): PeerRecord | undefined {
  const byName = config.peers.find((peer) => peer.name === nameOrId);
  if (byName !== undefined) return byName;
  const compact = nameOrId.toUpperCase().replace(/[\s-]/g, '');
  return config.peers.find((peer) => {
    const id = peer.deviceId.replace(/-/g, '');
    return id === compact || (compact.length >= 7 && id.startsWith(compact));
  });
}
