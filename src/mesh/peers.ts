import { BotsyncError, isBotsyncError } from '../errors.js';
import { askDaemon } from '../daemon/control-socket.js';
import { parseDeviceId, shortDeviceId } from '../syncthing/device-id.js';
import { defaultPeerAddresses } from '../syncthing/profiles.js';
import { loadConfig, saveConfig, type BotsyncConfig, type PeerRecord } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { otherRole, type Role } from '../workspace/roles.js';

export interface AddPeerInput {
  deviceId: string;
  name?: string;
  addresses?: string[];
  /** The peer's role; by default the opposite of this machine's, the usual agent/human pair. */
  role?: Role;
}

export interface PeerChange {
  peer: PeerRecord;
  config: BotsyncConfig;
  /** Whether a running Syncthing took the change now; otherwise the daemon applies it when it starts. */
  applied: boolean;
}

/** Adds a peer (or updates the one with the same device ID) and shares the folders with it by role. */
export async function addPeer(layout: Layout, input: AddPeerInput): Promise<PeerChange> {
  const config = await loadConfig(layout);
  const deviceId = parseDeviceId(input.deviceId);
  if (deviceId === config.deviceId) {
    throw new BotsyncError('BAD_INPUT', 'That device ID is this machine\'s own.', {
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
    addedAt: existing?.addedAt ?? new Date().toISOString(),
  };
  if (peer.addresses.length === 0) {
    throw new BotsyncError('BAD_INPUT', `The ${config.network} network profile has no discovery, so the peer needs an address.`, {
      hint: 'Pass --address tcp://HOST:PORT (the other machine shows it in `botsync status`).',
    });
  }
  const updated = { ...config, peers: [...config.peers.filter((p) => p.deviceId !== deviceId), peer] };
  await saveConfig(layout, updated);
  return { peer, config: updated, applied: await applyIfRunning(layout) };
}

export async function removePeer(layout: Layout, nameOrId: string): Promise<PeerChange> {
  const config = await loadConfig(layout);
  const peer = findPeer(config, nameOrId);
  if (peer === undefined) {
    throw new BotsyncError('UNKNOWN_PEER', `No peer named or with the ID "${nameOrId}".`, {
      hint: 'See the peers with `botsync peers list`.',
    });
  }
  const updated = { ...config, peers: config.peers.filter((p) => p.deviceId !== peer.deviceId) };
  await saveConfig(layout, updated);
  return { peer, config: updated, applied: await applyIfRunning(layout) };
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

/** Accepts tcp://, quic:// and dynamic, the address forms Syncthing dials. */
export function parseAddress(input: string): string {
  if (input === 'dynamic') return input;
  const url = URL.canParse(input) ? new URL(input) : undefined;
  const ok =
    url !== undefined &&
    (url.protocol === 'tcp:' || url.protocol === 'quic:') && url.hostname !== '' && url.port !== '' && url.pathname === '';
  if (!ok) {
    throw new BotsyncError('BAD_INPUT', `"${input}" is not a peer address.`, {
      hint: 'Use tcp://HOST:PORT (for example tcp://192.0.2.10:22000), or dynamic.',
    });
  }
  return `${url!.protocol}//${url!.host}`;
}

/** Asks a running daemon to apply the saved config now; false when no daemon runs (it applies it at start). */
async function applyIfRunning(layout: Layout): Promise<boolean> {
  try {
    return (await askDaemon<{ applied: boolean }>(layout, 'apply')).applied;
  } catch (error) {
    if (isBotsyncError(error, 'DAEMON_NOT_RUNNING')) return false;
    throw error;
  }
}
