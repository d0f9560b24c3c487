/** The parts of Syncthing's REST objects botsync reads or writes. Syncthing sends more; fields may be added. */

import type { FolderType } from '../workspace/roles.js';

export interface SystemStatus {
  myID: string;
  uptime: number;
  startTime: string;
  connectionServiceStatus?: Record<string, { error: string | null; lanAddresses: string[] | null; wanAddresses: string[] | null }>;
  /** Per global discovery server (and local discovery): its last error, null when it answered. */
  discoveryStatus?: Record<string, { error: string | null }>;
  /** Per address dialled: when, and why it failed (null when it worked). */
  lastDialStatus?: Record<string, { when: string; error: string | null }>;
}

/** /rest/stats/device: when each device was last seen connected. */
export type DeviceStats = Record<string, { lastSeen: string; lastConnectionDurationS?: number }>;

export interface SystemVersion {
  version: string;
  longVersion: string;
  os: string;
  arch: string;
}

export interface ConnectionInfo {
  connected: boolean;
  paused: boolean;
  address: string;
  clientVersion: string;
  type: string;
}

export interface Connections {
  connections: Record<string, ConnectionInfo>;
}

export interface FolderDevice {
  deviceID: string;
  introducedBy?: string;
  encryptionPassword?: string;
}

/** A size in Syncthing's config: `{value: 1, unit: "%"}`, `{value: 5.2, unit: "MB"}` (decimal units). */
export interface Size {
  value: number;
  unit: string;
}

export interface FolderConfig {
  id: string;
  label: string;
  path: string;
  type: FolderType;
  devices: FolderDevice[];
  rescanIntervalS: number;
  fsWatcherEnabled: boolean;
  fsWatcherDelayS: number;
  paused: boolean;
  minDiskFree: Size;
  versioning: VersioningConfig;
  /** Off (false, the default): Syncthing guards every path it writes against a case-only clash with one there. */
  caseSensitiveFS: boolean;
  /** How many files a pull writes at once (default 2). */
  maxConcurrentWrites: number;
}

/** A folder's versioning: type "" keeps no versions; params are strings (staggered: `maxAge` in seconds). */
export interface VersioningConfig {
  type: '' | 'trashcan' | 'simple' | 'staggered' | 'external';
  params: Record<string, string>;
  cleanupIntervalS: number;
  /** Where the versions go; "" is `.stversions` inside the folder. */
  fsPath: string;
  fsType: string;
}

/**
 * /rest/folder/versions: relative path -> its versions. `versionTime` (when it was replaced or
 * deleted) is also the key a restore names it by, and is given in Syncthing's local time.
 */
export type FolderVersions = Record<string, FileVersion[]>;

export interface FileVersion {
  versionTime: string;
  modTime: string;
  size: number;
}

export interface DeviceConfig {
  deviceID: string;
  name: string;
  addresses: string[];
  paused: boolean;
  autoAcceptFolders: boolean;
  introducer: boolean;
}

export interface OptionsConfig {
  listenAddresses: string[];
  globalAnnounceServers: string[];
  globalAnnounceEnabled: boolean;
  localAnnounceEnabled: boolean;
  relaysEnabled: boolean;
  natEnabled: boolean;
  urAccepted: number;
  autoUpgradeIntervalH: number;
  crashReportingEnabled: boolean;
  startBrowser: boolean;
  minHomeDiskFree: Size;
}

export interface FolderStatus {
  state: string;
  globalBytes: number;
  globalFiles: number;
  localBytes: number;
  needBytes: number;
  needFiles: number;
  /** Files, directories, symlinks and deletions this machine still needs from its peers. */
  needTotalItems?: number;
  /** In a receive-only folder: items changed here that its peers do not have (never sent). */
  receiveOnlyTotalItems?: number;
  errors: number;
  /** Items the last pull could not sync (their reasons: /rest/folder/errors). */
  pullErrors?: number;
  /** Why the folder as a whole stopped; present only while its state is "error". */
  error?: string;
  stateChanged?: string;
}

/** /rest/folder/errors: the items the last pull of a folder could not sync. */
export interface FolderErrors {
  folder: string;
  errors: { path: string; error: string }[] | null;
}

export interface Completion {
  completion: number;
  globalBytes: number;
  needBytes: number;
  /** Files, directories and symlinks the device lacks; a file whose blocks it holds but has not finished counts too (needBytes does not). */
  needItems: number;
  needDeletes: number;
}

/** An item of a folder as the /rest/db/need, /rest/db/remoteneed and /rest/db/localchanged lists give it. */
export interface DbListedFile {
  name: string;
  size: number;
  deleted: boolean;
  type?: string | number;
}

/** One page of /rest/db/remoteneed or /rest/db/localchanged. */
export interface FilePage {
  files: DbListedFile[] | null;
  page: number;
  perpage: number;
}

/** One page of /rest/db/need: what this machine is pulling now, has queued, and the rest. */
export interface NeedPage {
  progress: DbListedFile[] | null;
  queued: DbListedFile[] | null;
  rest: DbListedFile[] | null;
  page: number;
  perpage: number;
}

export interface SyncthingEvent<T = Record<string, unknown>> {
  id: number;
  globalID?: number;
  type: string;
  time: string;
  data: T;
}

/** /rest/cluster/pending/devices: device ID -> what it told us when it tried to connect. */
export type PendingDevices = Record<string, { time: string; name: string; address: string }>;

/**
 * /rest/db/file: `modifiedBy` is the short ID (first group) of the device that made the current version;
 * `version` its version vector ("SHORTID:counter" entries, empty for a file this device does not have).
 */
export interface DbFile {
  global: DbFileVersion;
  local: DbFileVersion;
  /** The other devices that have the global version (null: none). */
  availability: { id: string; fromTemporary: boolean }[] | null;
}

export interface DbFileVersion {
  name: string;
  modifiedBy: string;
  deleted: boolean;
  /** FILE_INFO_TYPE_FILE, FILE_INFO_TYPE_DIRECTORY...; a number in some versions. */
  type?: string | number;
  size: number;
  version: string[];
  /** Octal, as "0755"; meaningless when noPermissions. */
  permissions: string;
  noPermissions: boolean;
  /** RFC 3339 with nanoseconds. */
  modified: string;
  invalid: boolean;
}

/**
 * /rest/cluster/pending/folders (Syncthing 1.19): folder ID -> offering device -> its offer, for the
 * folders peers share with this device that it does not share with them (checked on 1.19.2; each
 * offer also comes as PendingFoldersChanged `added`, and goes as `removed` once accepted).
 */
export type PendingFolders = Record<string, { offeredBy: Record<string, { time: string; label: string; receiveEncrypted: boolean; remoteEncrypted: boolean }> }>;
