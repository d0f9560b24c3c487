import { BotsyncError } from '../src/errors.js';
import { NETWORK_PROFILES, type NetworkProfile } from '../src/workspace/config.js';
import { parseDiscovery, parseRelays } from '../src/workspace/network.js';
import type { Context } from './context.js';

export interface ServerChoice {
  /** The settings given, as `config set` takes them (`network.discovery` -> URL list or default). */
  given: Record<string, string>;
  /** The same, parsed, for a home set up now (absent: Syncthing's public servers). */
  discovery?: string[];
  relays?: string[];
}

/**
 * Self-hosted servers from --discovery / BOTSYNC_DISCOVERY and --relays / BOTSYNC_RELAYS, checked
 * before anything is set up. A home set up now starts with them (Syncthing never contacts the public
 * servers); an existing home has them changed with `storeServers`.
 */
export function serversFrom(context: Context): ServerChoice {
  const discovery = context.options.discovery ?? (context.env.BOTSYNC_DISCOVERY || undefined);
  const relays = context.options.relays ?? (context.env.BOTSYNC_RELAYS || undefined);
  return {
    given: { ...(discovery === undefined ? {} : { 'network.discovery': discovery }), ...(relays === undefined ? {} : { 'network.relays': relays }) },
    discovery: discovery === undefined ? undefined : parseDiscovery(discovery),
    relays: relays === undefined ? undefined : parseRelays(relays),
  };
}

/** Stores the servers given into the home (through its daemon when it runs). */
export async function storeServers(context: Context, servers: ServerChoice): Promise<void> {
  if (Object.keys(servers.given).length === 0) return;
  // Loaded here: `join` checks the servers given before it spawns a new home's daemon, and what it loads before then delays that.
  const { changeSetting } = await import('../src/mesh/settings.js');
  for (const [key, value] of Object.entries(servers.given)) await changeSetting(context.layout, key, value);
}

/** --network, else BOTSYNC_NETWORK, else the default for real users: internet. */
export function networkFrom(context: Context): NetworkProfile {
  const chosen = context.options.network ?? context.env.BOTSYNC_NETWORK ?? 'internet';
  if (!NETWORK_PROFILES.includes(chosen as NetworkProfile)) {
    throw new BotsyncError('USAGE', `Unknown network profile "${chosen}".`, { hint: 'Use --network internet, lan or loopback.' });
  }
  return chosen as NetworkProfile;
}
