import { isBotsyncError } from '../errors.js';
import { lockHolder } from '../lib/lock.js';
import { legacyDaemonCheck } from '../workspace/legacy-daemon.js';
import type { NotifyStatus } from '../notify/status.js';
import type { BackupState } from '../backup/backup-state.js';
import { readDaemonState, type DaemonState, type WatchLimitState } from '../workspace/daemon-state.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { deviceKeyState } from '../syncthing/device-key.js';
import type { ConnectionInfo, Connections, DeviceStats, FolderStatus, SystemStatus } from '../syncthing/rest-types.js';
import { ownAddresses } from '../mesh/own-addresses.js';
import { peerRef, type BotsyncConfig, type NetworkProfile, type PeerRef } from '../workspace/config.js';
import { localChanges } from '../folders/settle.js';
import { deliveryFolders, progressByDevice, type FolderProgress } from '../folders/delivery.js';
import { isFolderPaused, isPeerPaused } from '../mesh/pause.js';
import { countByFolder, listConflicts, type Conflict } from '../folders/conflicts.js';
import type { Layout } from '../workspace/layout.js';
import type { FolderType, Role } from '../workspace/roles.js';
import { homeFolders } from '../folders/home-folders.js';

/** The `status --json` shape from DESIGN.md; fields may be added, never renamed. */
export interface StatusReport {
  deviceId: string;
  name: string;
  home: string;
  role: Role;
  network: NetworkProfile;
  daemon: { running: boolean; pid: number | null; phase: string | null; syncthingRestarts: number };
  syncthing: { running: boolean; version: string | null; guiAddress: string };
  addresses: string[];
  peers: PeerStatus[];
  folders: FolderReport[];
  invites: { expiresAt: string }[];
  /** What is wrong with this home, each with its fix, as `doctor` names it (e.g. a lost device key). */
  warnings: StatusWarning[];
  /** Introduced devices waiting for `botsync peers approve` (with `mesh.approve` on). */
  pending: PendingPeer[];
  /** Conflict copies in the folders, waiting for `botsync conflicts resolve`. */
  conflicts: number;
  /** Where notifications go and how delivery is doing; present while the daemon runs. */
  notify?: NotifyStatus;
  /** The last backup's outcome; present while the daemon runs. */
  backup?: BackupState;
}

export interface FolderReport {
  id: string;
  path: string;
  type: FolderType;
  state: string;
  completion: number | null;
  /**
   * Why the folder does not sync: Syncthing's reason when it stopped as a whole, or how many items the
   * last pull could not sync and why the first one failed ("insufficient space" on a full disk). Null
   * when it syncs, or while the daemon is down. While the daemon holds Syncthing's restart (its
   * database's disk is full), the daemon's reason.
   */
  error: string | null;
  /** Conflict copies in it. */
  conflicts: number;
  /** Paused with `botsync pause FOLDER`: nothing in it syncs until `botsync resume`. */
  paused: boolean;
  /**
   * Items changed on this machine that its peers do not have: in a receive-only folder, edits that are
   * never sent (`botsync pull FOLDER` drops them into versions). 0 in other folders; null while the
   * daemon is down.
   */
  localChanges: number | null;
}

export interface StatusWarning {
  /** The `doctor` check that fails for the same reason. */
  id: string;
  message: string;
  fix: string;
}

export interface PeerStatus {
  deviceId: string;
  name: string;
  role: Role;
  connected: boolean;
  /** The remote address of the connection, while connected. */
  address: string | null;
  connection: PeerConnection | null;
  /** When Syncthing last saw the peer connected (null: never, or unknown while the daemon is down). */
  lastSeen: string | null;
  /** The peer that introduced it; null for a peer paired with this machine directly. */
  via: PeerRef | null;
  /** Paused with `botsync pause PEER`: not connected until `botsync resume`. */
  paused: boolean;
  /**
   * Per folder shared with it: how much of it the peer has, in percent, as its last index told
   * (null for a folder paused here). Null while the daemon is down.
   */
  completion: Record<string, number | null> | null;
}

export interface PendingPeer {
  deviceId: string;
  name: string;
  role: Role;
  via: PeerRef | null;
  addedAt: string;
}

/**
 * How a peer is connected. `tcp-lan` and `tcp-wan` tell a LAN from the internet by the remote address
 * (private, link-local and loopback ranges are the LAN), as Syncthing's own LAN rules do by default.
 */
export interface PeerConnection {
  type: 'tcp-lan' | 'tcp-wan' | 'quic' | 'relay';
  address: string;
}

/**
 * The status from config.json alone, for when no daemon answers (report/collect-status.ts asks it first).
 * A daemon still starting holds its lock but does not answer on its socket yet.
 */
export async function localStatus(layout: Layout, config: BotsyncConfig): Promise<StatusReport> {
  const daemonPid = await lockHolder(layout.lockFile, legacyDaemonCheck(layout));
  const daemonState = daemonPid === undefined ? undefined : await readDaemonState(layout);
  return buildStatus(
    layout,
    config,
    daemonPid === undefined ? undefined : { pid: daemonPid, state: daemonState },
    undefined,
    await statusWarnings(layout, config),
    await listConflicts(layout, config),
  );
}

/** How a device key is checked: deviceKeyState, or a process's cachedDeviceKeyState. */
type KeyStateOf = typeof deviceKeyState;

/**
 * What `status` warns of. A lost or replaced device key (cert.pem, key.pem): a running Syncthing keeps
 * the key it loaded, so nothing else shows the loss before its next start, which the daemon then
 * refuses (syncthing/device-key.ts).
 */
export async function statusWarnings(layout: Layout, config: BotsyncConfig, keyState?: KeyStateOf): Promise<StatusWarning[]> {
  // Loaded here: a status the daemon answers, the CLI's fast path, does not load node:crypto.
  const { deviceKeyHint, deviceKeyProblem, deviceKeyState } = await import('../syncthing/device-key.js');
  const fix = deviceKeyHint(layout.syncthingHome);
  try {
    const key = await (keyState ?? deviceKeyState)(layout.syncthingHome, config.deviceId);
    return key.state === 'ok' ? [] : [{ id: 'device-key', message: deviceKeyProblem(layout.syncthingHome, config.deviceId, key), fix }];
  } catch (error) {
    // A cert.pem that is no certificate is a lost key too; the rest of the status still holds.
    if (isBotsyncError(error, 'DEVICE_KEY_LOST')) return [{ id: 'device-key', message: error.message, fix }];
    throw error;
  }
}

/** The sysctl that bounds inotify watches per user, and the least botsync suggests raising it to. */
const WATCH_LIMIT_SYSCTL = 'fs.inotify.max_user_watches';
const SUGGESTED_WATCH_LIMIT = 524288;

/**
 * The daemon met inotify's watch limit (daemon.json's watchLimit): the directories it could not watch
 * still sync, at Syncthing's pace. Syncthing's own watcher draws on the same per-user limit, so it may
 * have run short too; its hourly rescan is then what finds changes there.
 */
export function watchLimitWarning(reached: WatchLimitState): StatusWarning {
  const value = reached.limit === null ? WATCH_LIMIT_SYSCTL : `${WATCH_LIMIT_SYSCTL}, here ${reached.limit}`;
  const where = reached.folders.map((folder) => (folder.dir === '' ? folder.id : `${folder.id} (from ${folder.id}/${folder.dir})`)).join(', ');
  const raised = Math.max(SUGGESTED_WATCH_LIMIT, 2 * (reached.limit ?? 0));
  return {
    id: 'inotify-limit',
    message: `inotify's watch limit (${value}) was reached: botsync's fast scans leave out directories of ${where}; changes there wait for Syncthing's own watcher (10 s), or its hourly rescan if Syncthing ran out of watches too`,
    fix: `Raise the limit with \`sudo sysctl ${WATCH_LIMIT_SYSCTL}=${raised}\`, keep it across reboots with the line \`${WATCH_LIMIT_SYSCTL}=${raised}\` in /etc/sysctl.d/90-botsync.conf, then run \`botsync restart\`.`,
  };
}

export interface DaemonInfo {
  pid: number;
  state: DaemonState | undefined;
}

export function buildStatus(
  layout: Layout,
  config: BotsyncConfig,
  daemon: DaemonInfo | undefined,
  live: LiveState | undefined,
  warnings: StatusWarning[],
  conflicts: readonly Conflict[],
  invites: { expiresAt: string }[] = [],
): StatusReport {
  const conflictCounts = countByFolder(conflicts);
  return {
    deviceId: config.deviceId,
    name: config.name,
    home: layout.home,
    role: config.role,
    network: config.network,
    daemon: {
      running: daemon !== undefined,
      pid: daemon?.pid ?? null,
      phase: daemon?.state?.phase ?? null,
      syncthingRestarts: daemon?.state?.syncthing?.restarts ?? 0,
    },
    syncthing: { running: live !== undefined, version: live?.version ?? null, guiAddress: config.gui.address },
    addresses: ownAddresses(config, live?.system),
    peers: config.peers.map((peer) => {
      const connection = live?.connections.connections[peer.deviceId];
      const lastSeen = live?.stats[peer.deviceId]?.lastSeen;
      return {
        deviceId: peer.deviceId,
        name: peer.name,
        role: peer.role,
        connected: connection?.connected ?? false,
        address: connection?.connected ? connection.address : null,
        connection: connection?.connected ? connectionOf(connection) : null,
        // Syncthing reports the zero time, 1970 or year 1, for a device it never saw.
        lastSeen: lastSeen === undefined || Date.parse(lastSeen) <= 0 ? null : lastSeen,
        via: peer.via === undefined ? null : peerRef(config, peer.via),
        paused: isPeerPaused(config, peer.deviceId),
        completion: live === undefined ? null : Object.fromEntries((live.completion.get(peer.deviceId) ?? []).map((folder) => [folder.folder, folder.completion])),
      };
    }),
    folders: homeFolders(layout, config).map((folder) => {
      const db = live?.folders.get(folder.id);
      // A Syncthing the daemon does not start again yet stops every folder, and cannot say so itself.
      const held = live === undefined ? daemon?.state?.syncthing?.held : undefined;
      return {
        id: folder.id,
        path: folder.path,
        type: folder.type,
        state: db?.state ?? (held === undefined ? 'unknown' : 'error'),
        completion: db === undefined ? null : completion(db.status),
        error: db === undefined ? (held ?? null) : folderError(db),
        conflicts: conflictCounts.get(folder.id) ?? 0,
        localChanges: db === undefined ? null : localChanges(db.status),
        paused: isFolderPaused(config, folder.id),
      };
    }),
    invites,
    warnings: daemon?.state?.watchLimit === undefined ? warnings : [...warnings, watchLimitWarning(daemon.state.watchLimit)],
    pending: (config.pending ?? []).map((peer) => ({
      deviceId: peer.deviceId,
      name: peer.name,
      role: peer.role,
      via: peer.via === undefined ? null : peerRef(config, peer.via),
      addedAt: peer.addedAt,
    })),
    conflicts: conflicts.length,
  };
}

export interface LiveState {
  version: string;
  /** Syncthing's system status as last read in the background; undefined until the first read. */
  system: SystemStatus | undefined;
  connections: Connections;
  stats: DeviceStats;
  /** By folder ID; a folder Syncthing does not have (yet) is absent. */
  folders: Map<string, LiveFolder | undefined>;
  /** Per peer: how it stands in each folder shared with it. */
  completion: Map<string, FolderProgress[]>;
}

/** A folder as Syncthing reports it, with its failed items when the last pull had any. */
export interface LiveFolder {
  state: string;
  status: FolderStatus;
  failed: { path: string; error: string }[];
}

/**
 * What a running Syncthing reports, or undefined when it does not answer. The system status is the
 * caller's cached copy: Syncthing can hold that call for many seconds (see daemon/system-watch.ts).
 */
export async function queryLive(client: SyncthingClient, system: SystemStatus | undefined, peers: readonly string[], folderIds: readonly string[]): Promise<LiveState | undefined> {
  try {
    // The completions need the folders' devices first: they are asked alongside the rest, not after it.
    // A folder paused or removed between the two calls costs its completions, not the status.
    const completion = deliveryFolders(client)
      .then((folders) => progressByDevice(client, folders, peers))
      .catch((error: unknown) => unknownFolder(error) ?? new Map<string, FolderProgress[]>());
    const [version, connections, stats, byPeer, ...folders] = await Promise.all([
      client.version(),
      client.connections(),
      client.deviceStats(),
      completion,
      ...folderIds.map((id) => liveFolder(client, id).catch(unknownFolder)),
    ]);
    return { version: version.version, system, connections, stats, folders: new Map(folderIds.map((id, index) => [id, folders[index]])), completion: byPeer };
  } catch (error) {
    if (isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) return undefined;
    throw error;
  }
}

async function liveFolder(client: SyncthingClient, id: string): Promise<LiveFolder> {
  const status = await client.folderStatus(id);
  const failed = (status.pullErrors ?? 0) > 0 ? ((await client.folderErrors(id)).errors ?? []) : [];
  return { state: status.state, status, failed };
}

function folderError(folder: LiveFolder): string | null {
  if (folder.status.error !== undefined && folder.status.error !== '') return folder.status.error.trimEnd();
  const [first] = folder.failed;
  if (first === undefined) return null;
  const count = folder.failed.length;
  return `${count} ${count === 1 ? 'item' : 'items'} could not be synced: ${JSON.stringify(first.path)}: ${first.error.trimEnd()}`;
}

/** A folder Syncthing does not have (yet) reports as unknown rather than failing the whole status. */
function unknownFolder(error: unknown): undefined {
  if (isBotsyncError(error, 'SYNCTHING_API')) return undefined;
  throw error;
}

function completion(db: FolderStatus): number {
  if (db.globalBytes === 0) return db.needFiles === 0 ? 100 : 0;
  return Math.floor((10000 * (db.globalBytes - db.needBytes)) / db.globalBytes) / 100;
}

export function connectionOf(info: ConnectionInfo): PeerConnection {
  const address = info.address;
  if (info.type.startsWith('relay')) return { type: 'relay', address };
  if (info.type.startsWith('quic')) return { type: 'quic', address };
  return { type: isLanAddress(address) ? 'tcp-lan' : 'tcp-wan', address };
}

function isLanAddress(hostPort: string): boolean {
  const host = hostPort.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  if (host.includes(':')) return host === '::1' || /^f[cd]/.test(host) || host.startsWith('fe80:');
  const [a, b] = host.split('.').map(Number) as [number, number];
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}
