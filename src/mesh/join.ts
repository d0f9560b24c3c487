import { askDaemon } from '../ipc/client.js';
import type { HostDetails } from '../pairing/details.js';
import { askNetworkReport } from '../report/network.js';
import type { PeerConnection } from '../report/status.js';
import { pollUntil } from '../lib/time/poll.js';
import type { NetworkProfile } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';

/**
 * After a verified pairing, the guest adds the host, and the machines the host paired with are
 * introduced by it (the same rules as for its mesh record: membership.ts), so that a network grown by
 * successive invites ends up fully connected. `join` has started the daemon, which applies the rules.
 */
export async function addHostAndItsPeers(layout: Layout, host: HostDetails, written?: string): Promise<void> {
  // One change and one apply for all of them: each apply makes Syncthing save its config and restart
  // folders. The host `join` wrote into config.json itself (`written`, its pairedAt) is kept: with no
  // one to introduce, nothing changes and nothing is applied.
  await askDaemon(layout, 'peers.paired', { machine: host, introduces: host.peers, written });
  // This machine's agent hears of the pairing like the host's does.
  await askDaemon(layout, 'pairing.completed', { deviceId: host.deviceId, name: host.name, role: host.role });
}

/** Across NATs Syncthing may need its relay, or a minute of hole punching; on a LAN it takes a second. */
export function defaultConnectTimeoutMs(network: NetworkProfile): number {
  return network === 'internet' ? 180_000 : 60_000;
}

export interface ConnectionOutcome {
  connected: boolean;
  connection: PeerConnection | null;
  /** Why not, when not connected by the deadline. */
  reason?: string;
  waitedMs: number;
}

const POLL_MS = 50;

/**
 * Waits until the daemon's Syncthing is connected to the peer, or the time is up. It asks the daemon,
 * which reads `/rest/system/connections` (never the system status, which Syncthing can hold for
 * seconds while it probes a NAT); `onWait` hears the latest reason about once a second meanwhile.
 */
export async function awaitConnection(
  layout: Layout,
  deviceId: string,
  options: { timeoutMs: number; onWait?: (waitedMs: number, reason: string) => void },
): Promise<ConnectionOutcome> {
  const started = Date.now();
  let lastReport = 0;
  let last = { reason: '', waitedMs: 0 };
  const connected = await pollUntil<ConnectionOutcome>(
    async () => {
      const waitedMs = Date.now() - started;
      const peer = (await askNetworkReport(layout)).peers.find((candidate) => candidate.deviceId === deviceId);
      if (peer?.connected) return { connected: true, connection: peer.connection, waitedMs };
      last = { reason: peer?.problem ?? 'the peer is not in this machine\'s configuration', waitedMs };
      if (waitedMs < options.timeoutMs && waitedMs - lastReport >= 1_000) {
        lastReport = waitedMs;
        options.onWait?.(waitedMs, last.reason);
      }
      return undefined;
    },
    { everyMs: POLL_MS, timeoutMs: options.timeoutMs },
  );
  return connected ?? { connected: false, connection: null, ...last };
}
