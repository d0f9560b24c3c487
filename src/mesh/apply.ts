import { unspelled } from '../syncthing/address-spelling.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { folderReserve, homeReserve, reserveOn } from '../syncthing/disk-reserve.js';
import { ensureIgnoreFiles } from '../folders/ignore.js';
import { keepOf, sameVersioning, versioningFor } from '../folders/versions.js';
import { profileOptions } from '../syncthing/profiles.js';
import type { DeviceConfig, FolderConfig, OptionsConfig } from '../syncthing/rest-types.js';
import type { BotsyncConfig, PeerRecord } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { FolderType } from '../workspace/roles.js';
import { homeFolders, presetOf, type HomeFolder } from '../folders/home-folders.js';
import { readOfferLabel } from '../folders/offers.js';
import { namesCaseSensitive } from '../folders/case-sensitivity.js';
import { isFolderPaused, isPeerPaused } from './pause.js';
import { LEGACY_MESH_FOLDER_ID, meshFolderAuthor, meshFolderId, prepareRecordDir, pruneMeshDir, recordDir } from './membership.js';

export interface ApplyReport {
  devicesAdded: string[];
  devicesUpdated: string[];
  devicesRemoved: string[];
  /** Devices that were paused and are no longer (`botsync resume`). */
  devicesResumed: string[];
  foldersChanged: string[];
  foldersRemoved: string[];
  optionsChanged: string[];
  /** Folders whose .stignore was put back in botsync's form (folders/ignore.ts), and rescanned. */
  ignoresChanged: string[];
  /** `FOLDER: why` for each folder whose ignore files could not be written; Syncthing goes on with what is there. */
  ignoresFailed: string[];
}

/**
 * Makes a running Syncthing match config.json: the peers as devices, the three folders with their
 * types and sharing by role, the folders added with `folders add|accept` with theirs, a mesh folder
 * per author of records (membership.ts), the network profile's options. config.json is the desired
 * state, this Syncthing belongs to botsync alone, so a device botsync does not know of is removed; of
 * the folders, only botsync's own are ever removed: mesh folders (those of former peers, and the
 * single shared one of earlier versions) and added folders no longer in config.json (`folders
 * remove`: known by their label, folders/offers.ts), never another folder the user may have made in
 * Syncthing itself. Removing a folder from Syncthing leaves its files where they are. Objects are
 * changed only when they differ, so applying twice is a no-op; the devices added or changed go to
 * Syncthing in one request, the folders in another (each request is a save of its config, and a join
 * changes a dozen objects).
 */
export async function applyConfig(client: SyncthingClient, layout: Layout, config: BotsyncConfig): Promise<ApplyReport> {
  const report: ApplyReport = { devicesAdded: [], devicesUpdated: [], devicesRemoved: [], devicesResumed: [], foldersChanged: [], foldersRemoved: [], optionsChanged: [], ignoresChanged: [], ignoresFailed: [] };
  await applyOptions(client, layout, config, report);
  await applyDevices(client, config, report);
  await applyFolders(client, layout, config, report);
  // New devices were added paused and are resumed only now that the folders are shared with them: a
  // connection made in between would receive indexes for folders not yet shared, and Syncthing drops
  // such a connection and waits out its reconnect interval. The resume is a redial: a device removed
  // and added again within a minute of Syncthing's last dial to it is dialled at once all the same.
  // A resumed device is redialled too: a plain resume waits out Syncthing's redial timer (client.redial).
  await client.redialAll([...report.devicesAdded, ...report.devicesResumed].filter((deviceId) => !isPeerPaused(config, deviceId)));
  return report;
}

async function applyOptions(client: SyncthingClient, layout: Layout, config: BotsyncConfig, report: ApplyReport): Promise<void> {
  const current = await client.options();
  const homeFree = await reserveOn(layout.syncthingHome, homeReserve);
  const wanted = { ...profileOptions(config), ...(homeFree === undefined ? {} : { minHomeDiskFree: homeFree }) };
  const patch: Partial<OptionsConfig> = {};
  for (const [key, value] of Object.entries(wanted) as [keyof OptionsConfig, unknown][]) {
    if (JSON.stringify(current[key]) !== JSON.stringify(value)) {
      (patch as Record<string, unknown>)[key] = value;
      report.optionsChanged.push(key);
    }
  }
  if (report.optionsChanged.length > 0) await client.patchOptions(patch);
}

async function applyDevices(client: SyncthingClient, config: BotsyncConfig, report: ApplyReport, now = Date.now()): Promise<void> {
  const current = new Map((await client.devices()).map((device) => [device.deviceID, device]));
  // Devices changed are sent whole, as they are with the changes: a device in the request replaces Syncthing's.
  const changed: (Partial<DeviceConfig> & { deviceID: string })[] = [];
  // This machine's own device carries its name too (`config set name`), as Syncthing's GUI shows it.
  const own = current.get(config.deviceId);
  if (own !== undefined && own.name !== config.name) {
    changed.push({ ...own, name: config.name });
    report.devicesUpdated.push(config.deviceId);
  }
  for (const peer of config.peers) {
    const device = current.get(peer.deviceId);
    const wanted = deviceFor(peer, now);
    const paused = isPeerPaused(config, peer.deviceId);
    if (device === undefined) {
      changed.push({ ...wanted, paused: true });
      report.devicesAdded.push(peer.deviceId);
    } else if (device.name !== wanted.name || !sameAddresses(device.addresses, wanted.addresses ?? []) || device.autoAcceptFolders || device.introducer || device.paused !== paused) {
      // A device left paused by an apply that was interrupted before its resume is resumed here too.
      changed.push({ ...device, ...wanted, paused });
      report.devicesUpdated.push(peer.deviceId);
      if (device.paused && !paused) report.devicesResumed.push(peer.deviceId);
    }
  }
  if (changed.length > 0) await client.putDevices(changed);
  const known = new Set([config.deviceId, ...config.peers.map((peer) => peer.deviceId)]);
  for (const deviceId of current.keys()) {
    if (!known.has(deviceId)) {
      await client.deleteDevice(deviceId);
      report.devicesRemoved.push(deviceId);
    }
  }
}

/**
 * Devices are never introducers and never auto-accept folders: what is shared is decided by roles here.
 * A just-paired peer is dialled on its `dialFirst` addresses until it connects (daemon/first-dial.ts).
 */
function deviceFor(peer: PeerRecord, now: number): Partial<DeviceConfig> & { deviceID: string } {
  const dialFirst = peer.dialFirst !== undefined && Date.parse(peer.dialFirst.until) > now ? peer.dialFirst.addresses : undefined;
  return {
    deviceID: peer.deviceId,
    name: peer.name,
    addresses: dialFirst ?? (peer.addresses.length > 0 ? peer.addresses : ['dynamic']),
    autoAcceptFolders: false,
    introducer: false,
  };
}

async function applyFolders(client: SyncthingClient, layout: Layout, config: BotsyncConfig, report: ApplyReport): Promise<void> {
  const mesh = meshFoldersFor(layout, config);
  const folders = homeFolders(layout, config);
  const wantedIds = new Set([...folders, ...mesh].map((folder) => folder.id));
  const current = new Map((await client.folders()).map((folder) => [folder.id, folder]));
  // Removed first: the shared folder of earlier versions lies above the per-author ones.
  for (const [id, folder] of current) {
    if ((id === LEGACY_MESH_FOLDER_ID || meshFolderAuthor(id) !== undefined || readOfferLabel(folder.label) !== undefined) && !wantedIds.has(id)) {
      await client.deleteFolder(id);
      report.foldersRemoved.push(id);
    }
  }
  await pruneMeshDir(layout, new Set([config.deviceId, ...config.peers.map((peer) => peer.deviceId)]));
  // Before Syncthing first scans a new folder; the daemon wrote them before Syncthing started, so a
  // change here is one made while it ran (a .stignore deleted by hand, say).
  // A folder botsync cannot write to still syncs (by the rules it has): no reason to stop the others.
  for (const folder of folders) {
    try {
      if (await ensureIgnoreFiles(folder.path, presetOf(folder))) report.ignoresChanged.push(folder.id);
    } catch (error) {
      report.ignoresFailed.push(`${folder.id}: ${(error as Error).message}`);
    }
  }
  // After the ignore files: the case check reads the folder's .stignore.
  const own = await Promise.all(folders.map(async (folder) => ({ ...folderFor(folder, config), ...(await minDiskFreeOf(folder.path)), ...(await caseSensitivityOf(folder.path)) })));
  for (const listed of mesh) {
    const author = meshFolderAuthor(listed.id);
    if (!current.has(listed.id) && author !== undefined) await prepareRecordDir(layout, author, author === config.deviceId);
  }
  // Sent whole, as devices are (applyDevices), so read again right before: a folder changed meanwhile
  // outside this queue (`botsync push` makes one send-only) is not put back as it was.
  const latest = new Map((await client.folders()).map((folder) => [folder.id, folder]));
  const changed: (Partial<FolderConfig> & { id: string })[] = [];
  for (const listed of [...own, ...mesh]) {
    // Every folder but botsync's own mesh folders can be paused (`botsync pause FOLDER`): membership keeps flowing.
    const wanted = meshFolderAuthor(listed.id) === undefined ? { ...listed, paused: isFolderPaused(config, listed.id) } : listed;
    const folder = latest.get(wanted.id);
    const patch = folder === undefined ? wanted : folderPatch(folder, wanted);
    if (patch === undefined) continue;
    changed.push(folder === undefined ? wanted : { ...folder, ...patch });
    report.foldersChanged.push(wanted.id);
  }
  if (changed.length > 0) await client.putFolders(changed);
  // A whole scan: files the old rules skipped are found, those the new ones ignore are marked so.
  // A paused folder cannot be scanned; its next scan after `resume` finds the same.
  for (const id of report.ignoresChanged) if (current.has(id) && !isFolderPaused(config, id)) await client.scan(id);
}

/**
 * Files a pull writes at once, against Syncthing's default of 2: a burst of small files waits on each
 * one's fsync, and more of them in flight cut a 1,000-file pull by 12-26% here (with the case guard off as well).
 */
const CONCURRENT_WRITES = 16;

/**
 * botsync's own membership folders, one per author of records (see membership.ts): this machine's,
 * send-only and shared with every peer whatever its role; each peer's, receive-only and shared with
 * that peer alone, so that nobody else can put anything in it. Pending devices are no peers yet.
 */
export function meshFoldersFor(layout: Layout, config: BotsyncConfig): (Partial<FolderConfig> & { id: string })[] {
  const folder = (author: string, name: string, type: FolderType, devices: string[]): Partial<FolderConfig> & { id: string } => ({
    id: meshFolderId(author),
    label: `botsync mesh record of ${name} (internal)`,
    path: recordDir(layout, author),
    type,
    devices: [config.deviceId, ...devices].map((deviceID) => ({ deviceID })),
    fsWatcherEnabled: true,
    fsWatcherDelayS: 10,
    rescanIntervalS: 3600,
    paused: false,
  });
  return [
    folder(config.deviceId, config.name, 'sendonly', config.peers.map((peer) => peer.deviceId)),
    ...config.peers.map((peer) => folder(peer.deviceId, peer.name, 'receiveonly', [peer.deviceId])),
  ];
}

/** A folder's reserve of free space (disk-reserve.ts); botsync's tiny mesh folders keep Syncthing's default. */
async function minDiskFreeOf(path: string): Promise<Pick<FolderConfig, 'minDiskFree'> | Record<string, never>> {
  const reserve = await reserveOn(path, folderReserve);
  return reserve === undefined ? {} : { minDiskFree: reserve };
}

/**
 * Set only on evidence (folders/case-sensitivity.ts); without it the folder keeps what it has. A look
 * that fails (a dead mount: EIO, ESTALE) is no evidence either, and no reason to leave every other
 * folder unapplied: Syncthing keeps its guard there and reports the folder's trouble itself.
 */
async function caseSensitivityOf(path: string): Promise<Pick<FolderConfig, 'caseSensitiveFS'> | Record<string, never>> {
  const sensitive = await namesCaseSensitive(path).catch((): undefined => undefined);
  return sensitive === undefined ? {} : { caseSensitiveFS: sensitive };
}

/**
 * Syncthing's own watcher stays on as the safety net behind botsync's fast-scan watcher, with its
 * default 10 s delay; the periodic full rescan catches anything both miss. Where this machine
 * receives changes, versions keep what a peer replaces or deletes (folders/versions.ts).
 */
function folderFor(folder: HomeFolder, config: BotsyncConfig): Partial<FolderConfig> & { id: string } {
  return {
    id: folder.id,
    label: folder.label,
    path: folder.path,
    type: folder.type,
    devices: [config.deviceId, ...folder.devices].map((deviceID) => ({ deviceID })),
    versioning: versioningFor(folder.type, keepOf(config)),
    maxConcurrentWrites: CONCURRENT_WRITES,
    fsWatcherEnabled: true,
    fsWatcherDelayS: 10,
    rescanIntervalS: 3600,
    paused: false,
  };
}

function folderPatch(current: FolderConfig, wanted: Partial<FolderConfig>): Partial<FolderConfig> | undefined {
  const patch: Partial<FolderConfig> = {};
  let changed = false;
  if (current.label !== wanted.label || current.path !== wanted.path || current.type !== wanted.type) {
    Object.assign(patch, { label: wanted.label, path: wanted.path, type: wanted.type });
    changed = true;
  }
  const currentDevices = current.devices.map((device) => device.deviceID);
  const wantedDevices = (wanted.devices ?? []).map((device) => device.deviceID);
  if (!sameList(currentDevices, wantedDevices)) {
    patch.devices = wanted.devices;
    changed = true;
  }
  if (wanted.paused !== undefined && current.paused !== wanted.paused) {
    patch.paused = wanted.paused;
    changed = true;
  }
  if (wanted.minDiskFree !== undefined && JSON.stringify(current.minDiskFree) !== JSON.stringify(wanted.minDiskFree)) {
    patch.minDiskFree = wanted.minDiskFree;
    changed = true;
  }
  for (const key of ['caseSensitiveFS', 'maxConcurrentWrites'] as const) {
    if (wanted[key] !== undefined && current[key] !== wanted[key]) {
      Object.assign(patch, { [key]: wanted[key] });
      changed = true;
    }
  }
  // Put back when changed by hand (the GUI, another tool): versions are what makes a peer's deletion recoverable.
  if (wanted.versioning !== undefined && !sameVersioning(current.versioning, wanted.versioning)) {
    patch.versioning = wanted.versioning;
    changed = true;
  }
  return changed ? patch : undefined;
}

/** A redial leaves a device's addresses in a spelling of its own (client.redial): still the same addresses. */
function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return sameList(a.map(unspelled), b.map(unspelled));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  const sortedB = [...b].sort();
  return a.length === b.length && [...a].sort().every((item, index) => item === sortedB[index]);
}
