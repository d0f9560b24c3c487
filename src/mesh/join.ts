import { askDaemon } from '../daemon/control-socket.js';
import { BotsyncError } from '../errors.js';
import type { HostDetails, MachineDetails } from '../pairing/details.js';
import { collectStatus } from '../report/status.js';
import { loadConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { peerInputFor } from './pairing-peers.js';
import type { PeerChange } from './peers.js';

/**
 * After a verified pairing, the guest adds the host and the machines the host already syncs with, so
 * that a network grown by successive invites ends up fully connected.
 */
export async function addHostAndItsPeers(layout: Layout, host: HostDetails): Promise<void> {
  for (const machine of [host as MachineDetails, ...host.peers]) {
    const config = await loadConfig(layout);
    if (machine.deviceId === config.deviceId) continue;
    await askDaemon<PeerChange>(layout, 'peers.add', peerInputFor(config, machine));
  }
  // This machine's agent hears of the pairing like the host's does.
  await askDaemon(layout, 'pairing.completed', { deviceId: host.deviceId, name: host.name, role: host.role });
}

/** Resolves once the daemon reports the peer connected; `join` only reports success then. */
export async function waitUntilConnected(layout: Layout, deviceId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await collectStatus(layout);
    if (status.peers.some((peer) => peer.deviceId === deviceId && peer.connected)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new BotsyncError('PAIRING_FAILED', `Paired, but this machine could not connect to the other one within ${timeoutMs / 1000} s.`, {
    hint: 'The pairing is saved and botsync keeps trying; `botsync doctor` shows what is in the way (network profile, firewall, addresses).',
  });
}
