import { askDaemon } from '../ipc/client.js';
import { pollUntil } from '../lib/time/poll.js';
import { withLeft, withoutMembers, type LeaveReport } from '../mesh/leave.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { loadConfig, peerRef } from '../workspace/config.js';
import { homeFolders } from '../folders/home-folders.js';
import type { Layout } from '../workspace/layout.js';
import type { ConfigWriter } from './config-writer.js';
import { stopDaemon } from './control.js';

/**
 * How long the leaving machine waits for its connected peers to drop it: its record reaches them in
 * about a second on a live connection; a peer that has not acted by then learns it from the others.
 */
export const LEAVE_WAIT_MS = 30_000;

/**
 * The daemon's side of `botsync leave`: publishes the leaving in this machine's record, waits until
 * every connected peer has acted on it (a peer that drops this machine deletes its device, which
 * closes the connection), then forgets the peers, which removes them from Syncthing.
 */
export async function leaveHere(writer: ConfigWriter, client: SyncthingClient, waitMs = LEAVE_WAIT_MS): Promise<LeaveReport> {
  const connectedNow = async () => new Set(Object.entries((await client.connections()).connections).filter(([, info]) => info.connected).map(([deviceId]) => deviceId));
  // Looked at first: a peer quick to act would otherwise be gone before it was counted.
  const before = await connectedNow();
  const { config } = await writer.update((current) => withLeft(current));
  const waiting = config.peers.filter((peer) => before.has(peer.deviceId));
  const stillConnected = (await pollUntil(
    async () => {
      const now = await connectedNow();
      return waiting.some((peer) => now.has(peer.deviceId)) ? undefined : now;
    },
    { everyMs: 250, timeoutMs: waitMs },
  )) ?? (await connectedNow());
  const told = waiting.filter((peer) => !stillConnected.has(peer.deviceId));
  await writer.update(withoutMembers);
  return {
    left: config.left!,
    told: told.map((peer) => peerRef(config, peer.deviceId)),
    untold: config.peers.filter((peer) => !told.includes(peer)).map((peer) => peerRef(config, peer.deviceId)),
  };
}

export interface LeftHome extends LeaveReport {
  home: string;
  /** The folders, with their files, kept where they are. */
  folders: string[];
  /** The daemon's pid, stopped now (with its Syncthing). */
  stoppedPid: number;
}

/**
 * `botsync leave`: starts the daemon when it does not run (only a running Syncthing can tell the
 * peers), has it leave, then stops it and its Syncthing.
 */
export async function leaveNetwork(layout: Layout, start: () => Promise<{ pid: number }>): Promise<LeftHome> {
  const { pid } = await start();
  const report = await askDaemon(layout, 'leave', undefined, LEAVE_WAIT_MS + 30_000);
  await stopDaemon(layout);
  return { ...report, home: layout.home, folders: homeFolders(layout, await loadConfig(layout)).map((folder) => folder.path), stoppedPid: pid };
}
