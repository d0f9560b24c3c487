import { networkInterfaces } from 'node:os';
import { shareableAddresses } from '../pairing/details.js';
import type { NetworkSettings } from '../syncthing/profiles.js';
import type { SystemStatus } from '../syncthing/rest-types.js';
import { addressKind } from './address.js';

/**
 * The addresses a peer may reach this machine by, best first: Syncthing's listeners' LAN addresses,
 * then the public ones learned from NAT mapping and STUN, then `relay://` addresses of the relays it
 * has joined. Before Syncthing has reported its listeners, the listen port on this machine's own
 * interfaces.
 */
export function ownAddresses(settings: NetworkSettings, system: SystemStatus | undefined): string[] {
  const reported = system === undefined ? [] : listenerAddresses(system);
  const candidates = reported.length > 0 ? reported : configuredAddresses(settings);
  const rank = { direct: 0, dynamic: 1, relay: 2 };
  return shareableAddresses(candidates).sort((a, b) => rank[addressKind(a)] - rank[addressKind(b)]);
}

function listenerAddresses(system: SystemStatus): string[] {
  const lan: string[] = [];
  const wan: string[] = [];
  for (const listener of Object.values(system.connectionServiceStatus ?? {})) {
    lan.push(...(listener.lanAddresses ?? []));
    wan.push(...(listener.wanAddresses ?? []));
  }
  // Wildcard and port-0 entries are Syncthing's placeholders, useless to a peer.
  return [...lan, ...wan].filter((address) => !/\/\/(0\.0\.0\.0|\[::\]):|:0(\/|$)/.test(address));
}

function configuredAddresses(settings: NetworkSettings): string[] {
  if (settings.network === 'loopback') return [`tcp://127.0.0.1:${settings.listenPort}`];
  const hosts = Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && !entry.internal && (entry.family === 'IPv4' || !entry.address.startsWith('fe80:')))
    .map((entry) => (entry!.family === 'IPv4' ? entry!.address : `[${entry!.address}]`));
  return hosts.flatMap((host) => [`tcp://${host}:${settings.listenPort}`, `quic://${host}:${settings.listenPort}`]);
}
