import { askDaemon } from '../ipc/client.js';
import { endpointOf, isRelayListener } from '../mesh/address.js';
import { ownAddresses } from '../mesh/own-addresses.js';
import { pollUntil } from '../lib/time/poll.js';
import type { Connections, SystemStatus } from '../syncthing/rest-types.js';
import type { BotsyncConfig, PeerRecord } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { connectionOf, type PeerConnection } from './status.js';

/** How this machine is reachable and how it reaches its peers: what `join` waits on and `doctor` explains. */
export interface NetworkReport {
  addresses: string[];
  /** Global discovery servers and their last error (null: it answered). */
  discovery: { server: string; error: string | null }[];
  /** Syncthing's listeners (relays included) and their last error. */
  listeners: { address: string; error: string | null }[];
  peers: PeerReachability[];
}

export interface PeerReachability {
  deviceId: string;
  name: string;
  connected: boolean;
  connection: PeerConnection | null;
  /** Why it is not connected, as far as Syncthing's dial attempts tell; null while connected. */
  problem: string | null;
}

/** The network report of the home's running daemon. */
export function askNetworkReport(layout: Layout): Promise<NetworkReport> {
  return askDaemon(layout, 'network');
}

/** How long a just-started Syncthing may take to join its relays (about a second on the internet). */
const RELAY_JOIN_MS = 5_000;

/**
 * This machine's addresses, once its relay listeners have joined their relays (or failed to, or
 * RELAY_JOIN_MS passed): for what another machine keeps, like a direct code, where a missing relay
 * address can cost a connection across NATs.
 */
export async function settledAddresses(layout: Layout, network: BotsyncConfig['network']): Promise<string[]> {
  let report: NetworkReport | undefined;
  const settled = await pollUntil(
    async () => {
      report = await askNetworkReport(layout);
      const { addresses, listeners } = report;
      const relayListeners = listeners.filter((listener) => isRelayListener(listener.address));
      const joined = relayListeners.length > 0 && relayListeners.every((listener) => listener.error !== null || addresses.some((address) => address.startsWith('relay://')));
      return network !== 'internet' || joined ? addresses : undefined;
    },
    { everyMs: 200, timeoutMs: RELAY_JOIN_MS },
  );
  // Not settled in time: the addresses of the last report.
  return settled ?? report!.addresses;
}

/** `system` is the daemon's cached copy of Syncthing's system status (undefined before the first read). */
export function buildNetworkReport(config: BotsyncConfig, system: SystemStatus | undefined, connections: Connections): NetworkReport {
  const discovery = Object.entries(system?.discoveryStatus ?? {}).map(([server, status]) => ({ server, error: status.error ?? null }));
  const listeners = Object.entries(system?.connectionServiceStatus ?? {}).map(([address, status]) => ({ address, error: status.error ?? null }));
  return {
    addresses: ownAddresses(config, system),
    discovery,
    listeners,
    peers: config.peers.map((peer) => {
      const info = connections.connections[peer.deviceId];
      const connected = info?.connected ?? false;
      return {
        deviceId: peer.deviceId,
        name: peer.name,
        connected,
        connection: connected ? connectionOf(info!) : null,
        problem: connected ? null : problemOf(peer, system, discovery, listeners),
      };
    }),
  };
}

/** The most telling reason Syncthing's own records give for a peer that is not connected. */
function problemOf(peer: PeerRecord, system: SystemStatus | undefined, discovery: NetworkReport['discovery'], listeners: NetworkReport['listeners']): string {
  if (system === undefined) return 'Syncthing has not reported its connection attempts yet.';
  const dialled = peer.dialFirst?.addresses ?? peer.addresses;
  // A redial dials an address in a spelling of its own (syncthing/address-spelling.ts): the latest dial of an endpoint tells.
  const latest = new Map<string, { when: string; error: string | null }>();
  for (const [address, status] of Object.entries(system.lastDialStatus ?? {})) {
    const endpoint = endpointOf(address);
    if (dialled.some((mine) => sameEndpoint(mine, address)) && !(status.when < (latest.get(endpoint)?.when ?? ''))) latest.set(endpoint, status);
  }
  const failures = [...latest].filter(([, status]) => status.error !== null).map(([endpoint, status]) => `${endpoint}: ${status.error}`);
  const parts: string[] = [];
  if (failures.length > 0) parts.push(`dialling ${peer.name} failed (${failures.join('; ')})`);
  const brokenDiscovery = discovery.filter((server) => server.error !== null);
  if (dialled.includes('dynamic') && brokenDiscovery.length > 0 && brokenDiscovery.length === discovery.length) {
    parts.push(`no discovery server answers (${brokenDiscovery.map((server) => `${server.server}: ${server.error}`).join('; ')})`);
  }
  const brokenRelays = listeners.filter((listener) => listener.error !== null && isRelayListener(listener.address));
  if (brokenRelays.length > 0) parts.push(`this machine is on no relay (${brokenRelays.map((relay) => `${endpointOf(relay.address)}: ${relay.error}`).join('; ')})`);
  if (parts.length === 0) return `no connection to ${peer.name} yet; it may be offline, or still being dialled.`;
  return `${parts.join('; ')}.`;
}

/** Syncthing records a dial under the address it dialled, which may carry more query parameters than ours. */
function sameEndpoint(ours: string, dialled: string): boolean {
  return ours !== 'dynamic' && endpointOf(ours) === endpointOf(dialled);
}
