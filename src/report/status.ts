import { isBotsyncError } from '../errors.js';
import { lockHolder } from '../daemon/lock.js';
import { askDaemon } from '../daemon/control-socket.js';
import type { NotifyStatus } from '../notify/status.js';
import type { BackupState } from '../backup/backup-state.js';
import { readDaemonState, type DaemonState } from '../daemon/state.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { Connections, FolderStatus, SystemStatus } from '../syncthing/rest-types.js';
import { loadConfig, type BotsyncConfig, type NetworkProfile } from '../workspace/config.js';
import { folderPath } from '../workspace/home.js';
import type { Layout } from '../workspace/layout.js';
import { FOLDERS, folderType, type FolderType, type Role } from '../workspace/roles.js';

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
  peers: { deviceId: string; name: string; role: Role; connected: boolean; address: string | null }[];
  folders: { id: string; path: string; type: FolderType; state: string; completion: number | null }[];
  invites: { expiresAt: string }[];
  /** Where notifications go and how delivery is doing; present while the daemon runs. */
  notify?: NotifyStatus;
  /** The last backup's outcome; present while the daemon runs. */
  backup?: BackupState;
}

/**
 * The status as the CLI sees it: from the daemon, which asks its Syncthing, when it runs; from
 * config.json alone when it does not.
 */
export async function collectStatus(layout: Layout): Promise<StatusReport> {
  const config = await loadConfig(layout);
  const daemonPid = await lockHolder(layout.lockFile);
  if (daemonPid !== undefined) {
    try {
      return await askDaemon<StatusReport>(layout, 'status');
    } catch (error) {
      // A daemon still starting has its lock but not yet its socket.
      if (!isBotsyncError(error, 'DAEMON_NOT_RUNNING')) throw error;
    }
  }
  const daemonState = daemonPid === undefined ? undefined : await readDaemonState(layout);
  return buildStatus(layout, config, daemonPid === undefined ? undefined : { pid: daemonPid, state: daemonState }, undefined);
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
  invites: { expiresAt: string }[] = [],
): StatusReport {
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
    addresses: live === undefined ? configuredAddresses(config) : dialableAddresses(live.system),
    peers: config.peers.map((peer) => {
      const connection = live?.connections.connections[peer.deviceId];
      return {
        deviceId: peer.deviceId,
        name: peer.name,
        role: peer.role,
        connected: connection?.connected ?? false,
        address: connection?.connected ? connection.address : null,
      };
    }),
    folders: FOLDERS.map((folder, index) => {
      const db = live?.folders[index];
      return {
        id: folder.id,
        path: folderPath(layout, folder.dir),
        type: folderType(folder, config.role),
        state: db?.state ?? 'unknown',
        completion: db === undefined ? null : completion(db),
      };
    }),
    invites,
  };
}

export interface LiveState {
  version: string;
  system: SystemStatus;
  connections: Connections;
  folders: (FolderStatus | undefined)[];
}

/** What a running Syncthing reports, or undefined when it does not answer. */
export async function queryLive(client: SyncthingClient): Promise<LiveState | undefined> {
  try {
    const [version, system, connections, ...folders] = await Promise.all([
      client.version(),
      client.systemStatus(),
      client.connections(),
      ...FOLDERS.map((folder) => client.folderStatus(folder.id).catch(unknownFolder)),
    ]);
    return { version: version.version, system, connections, folders };
  } catch (error) {
    if (isBotsyncError(error, 'SYNCTHING_NOT_RUNNING')) return undefined;
    throw error;
  }
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

/** The addresses this machine tells a new peer: what Syncthing reports, or the configured ones. */
export async function currentAddresses(layout: Layout, client: SyncthingClient): Promise<string[]> {
  const live = await queryLive(client);
  return live === undefined ? configuredAddresses(await loadConfig(layout)) : dialableAddresses(live.system);
}

/** Addresses another machine could dial, as Syncthing's listeners report them; wildcard ones are useless to a peer. */
function dialableAddresses(system: SystemStatus): string[] {
  const found = new Set<string>();
  for (const listener of Object.values(system.connectionServiceStatus ?? {})) {
    for (const address of [...(listener.lanAddresses ?? []), ...(listener.wanAddresses ?? [])]) {
      if (!/\/\/(0\.0\.0\.0|\[::\]):|:0$/.test(address)) found.add(address);
    }
  }
  return [...found].sort();
}

function configuredAddresses(config: BotsyncConfig): string[] {
  return config.network === 'loopback' ? [`tcp://127.0.0.1:${config.listenPort}`] : [];
}
