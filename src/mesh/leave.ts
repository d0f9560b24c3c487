import type { BotsyncConfig, PeerRef } from '../workspace/config.js';

/**
 * `botsync leave` (DESIGN "CLI contract"): this machine revokes itself from its network through its
 * own mesh record (membership.ts, "Leaving"), then forgets its peers. Its files and its state stay:
 * it is a home of its own again, with its device key and settings, which a new pairing joins to a
 * network again.
 */

export interface LeaveReport {
  /** When this machine left, as its record says. */
  left: string;
  /** Peers that dropped this machine before it stopped (they closed their connection to it). */
  told: PeerRef[];
  /** Peers that did not, unreachable or still connected when the wait ran out: they learn it from the others' revocations, or need `peers remove`. */
  untold: PeerRef[];
}

/** The config with this machine's leaving dated, for its record to publish. Pure. */
export function withLeft(config: BotsyncConfig, now = new Date()): BotsyncConfig {
  return { ...config, left: now.toISOString() };
}

/** The config without any peer or pending device: nothing is shared any more. Its revocations stay. Pure. */
export function withoutMembers(config: BotsyncConfig): BotsyncConfig {
  const { pending: _pending, ...rest } = config;
  return { ...rest, peers: [] };
}
