import type { PeerRef } from '../workspace/config.js';
import type { Role } from '../workspace/roles.js';

/**
 * The notifier's vocabulary: the events botsync reports (to OpenClaw hooks, to a webhook of the user's
 * own, and as NDJSON through `botsync events`), and the notifications they are batched into.
 */

export type FileAction = 'update' | 'delete' | 'metadata';
export type FileKind = 'file' | 'dir' | 'symlink';

/** A file, directory or symbolic link that arrived from a peer (Syncthing's ItemFinished for a pulled item). */
export interface FileReceivedEvent {
  type: 'file.received';
  time: string;
  folder: string;
  /** Relative to the folder, '/'-separated, exactly as the peer named it: untrusted. */
  path: string;
  action: FileAction;
  /**
   * As Syncthing names the item it pulled (it reports a deleted link as a file). Absent only from
   * events journaled before botsync recorded it.
   */
  kind?: FileKind;
  /** A symbolic link's text, exactly as the peer made it (untrusted); absent when it could not be read. */
  target?: string;
  /** Present when the link points outside its folder (folders/symlinks.ts says what that means). */
  outside?: true;
  /** Bytes, for a file that exists after the action; null for deletions, directories and links. */
  size: number | null;
  /**
   * The peer's name that made this version (Syncthing's record of it), null when Syncthing could not
   * tell. Absent only from events journaled before botsync recorded it.
   */
  from?: string | null;
}

/**
 * A change made on this machine that it sends to its peers (Syncthing's LocalChangeDetected): the
 * other half of the history. Journaled for `botsync events`, never notified: an agent is not woken
 * for its own writes.
 */
export interface FileChangedEvent {
  type: 'file.changed';
  time: string;
  folder: string;
  /** Relative to the folder, '/'-separated. */
  path: string;
  action: 'update' | 'delete';
  kind: FileKind;
  /** Bytes, for a file that exists after the change; null for deletions, directories and links. */
  size: number | null;
}

/**
 * A conflict copy appeared in a folder (Syncthing's `NAME.sync-conflict-...`): made here when this
 * machine's version lost, or received from the peer that made it. `botsync conflicts` settles it.
 */
export interface FileConflictEvent {
  type: 'file.conflict';
  time: string;
  folder: string;
  /** The file in conflict, relative to the folder, '/'-separated: untrusted. */
  path: string;
  /** The copy beside it, relative to the folder: untrusted. */
  conflictPath: string;
  /** The machine whose version the copy holds, by the name botsync knows it by; null when it cannot be told (folders/conflicts.ts conflictAuthor). */
  from: string | null;
}

export interface DeviceConnectedEvent {
  type: 'device.connected';
  time: string;
  deviceId: string;
  name: string;
}

export interface DeviceDisconnectedEvent {
  type: 'device.disconnected';
  time: string;
  deviceId: string;
  name: string;
  reason: string | null;
}

export interface PairingCompletedEvent {
  type: 'pairing.completed';
  time: string;
  deviceId: string;
  name: string;
  role: string;
}

/** A device adopted on a peer's introduction (its mesh record or pairing answer), or approved. */
export interface PeerAddedEvent {
  type: 'peer.added';
  time: string;
  deviceId: string;
  name: string;
  role: string;
  via: PeerRef;
}

/** A device introduced while `mesh.approve` is on: it waits for `botsync peers approve`. */
export interface PeerPendingEvent {
  type: 'peer.pending';
  time: string;
  deviceId: string;
  name: string;
  role: string;
  via: PeerRef;
}

/** A peer (or a pending device) dropped here because a trusted member revoked it. */
export interface PeerRevokedEvent {
  type: 'peer.revoked';
  time: string;
  deviceId: string;
  name: string;
  by: PeerRef;
}

/**
 * A peer's own record gave it a new name or role (`botsync config set name|role` there). A new role
 * changes which way deliverables/ and inbox/ flow between it and this machine: news at once.
 */
export interface PeerChangedEvent {
  type: 'peer.changed';
  time: string;
  deviceId: string;
  name: string;
  role: Role;
  before: { name: string; role: Role };
}

/** A peer's record listed more devices than it may introduce; these were not adopted. */
export interface PeerRefusedEvent {
  type: 'peer.refused';
  time: string;
  via: PeerRef;
  /** How many devices were newly refused. */
  count: number;
  /** The first of them. */
  deviceIds: string[];
  limit: number;
}

/** A peer's record published revocations dated too far ahead of this machine's clock; they were not honoured. */
export interface RevocationRefusedEvent {
  type: 'revocation.refused';
  time: string;
  via: PeerRef;
  /** How many revocations were newly refused. */
  count: number;
  /** The first of them, as published. */
  revocations: { deviceId: string; at: string }[];
  /** How far ahead of this machine's clock a revocation may be dated. */
  skewMinutes: number;
}

/**
 * A peer deleted many files of a folder in one burst (at least 20, or a quarter of the folder): told
 * at once, apart from the batch that lists them, since it may be a mistake to undo with `botsync recover`.
 */
export interface FilesDeletedEvent {
  type: 'files.deleted';
  time: string;
  folder: string;
  count: number;
  /** The peer's name (Syncthing's record of who deleted them); null when Syncthing could not tell. */
  from: string | null;
  /** The first few of them, as the peer named them: untrusted. */
  paths: string[];
}

/** Items of a folder could not be synced, or the whole folder stopped (Syncthing's folder error). */
export interface FolderErrorEvent {
  type: 'folder.error';
  time: string;
  folder: string;
  /** Why the whole folder stopped (its path is gone, no room for Syncthing's database); absent when only items failed. */
  reason?: string;
  errors: { path: string; error: string }[];
}

/**
 * A peer offers a folder (Syncthing's pending folder offer): nothing of it is written here until
 * `botsync folders accept`. Announced once per offer (daemon/folder-offers.ts).
 */
export interface FolderOfferedEvent {
  type: 'folder.offered';
  time: string;
  /** The folder ID (checked: a plain name, folders/offers.ts). */
  folder: string;
  /** The offering peer's name. */
  from: string;
  deviceId: string;
  /** The folder's label as the peer sent it: untrusted. */
  label: string;
  /** How it would flow here once accepted. */
  folderType: 'two-way' | 'send' | 'receive';
  /** The preset it would be accepted with, one this machine knows. */
  preset?: string;
}

/** A scheduled backup failed; the schedule tries again at retryAt. */
export interface BackupFailedEvent {
  type: 'backup.failed';
  time: string;
  /** What it was doing: "reading the settings", "uploading (rclone rcat)"... */
  stage: string;
  message: string;
  retryAt: string | null;
}

/** Events were lost (Syncthing restarted, or its event buffer overflowed): a summary instead of silence. */
export interface EventsMissedEvent {
  type: 'events.missed';
  time: string;
  reason: string;
  /** How many, when known. */
  count: number | null;
}

export type BotsyncEvent =
  | FileReceivedEvent
  | FileChangedEvent
  | FileConflictEvent
  | DeviceConnectedEvent
  | DeviceDisconnectedEvent
  | PairingCompletedEvent
  | PeerAddedEvent
  | PeerPendingEvent
  | PeerRevokedEvent
  | PeerChangedEvent
  | PeerRefusedEvent
  | RevocationRefusedEvent
  | FilesDeletedEvent
  | FolderErrorEvent
  | FolderOfferedEvent
  | BackupFailedEvent
  | EventsMissedEvent;

/** The events a webhook hears of: all but this machine's own changes. */
export type NotifiedEvent = Exclude<BotsyncEvent, FileChangedEvent>;

export function isNotified(event: BotsyncEvent): event is NotifiedEvent {
  return event.type !== 'file.changed';
}

/** Every event type, for `botsync events --type` (a Record, so that a new type cannot be left out). */
const TYPES: Record<BotsyncEvent['type'], true> = {
  'file.received': true,
  'file.changed': true,
  'file.conflict': true,
  'files.deleted': true,
  'device.connected': true,
  'device.disconnected': true,
  'pairing.completed': true,
  'peer.added': true,
  'peer.pending': true,
  'peer.revoked': true,
  'peer.changed': true,
  'peer.refused': true,
  'revocation.refused': true,
  'folder.error': true,
  'folder.offered': true,
  'backup.failed': true,
  'events.missed': true,
};
export const EVENT_TYPES: readonly BotsyncEvent['type'][] = Object.keys(TYPES) as BotsyncEvent['type'][];

/** The types a `--type` names: one type, or every type under a prefix (`file.*`, `device.*`); none for anything else. */
export function typesMatching(pattern: string): BotsyncEvent['type'][] {
  if (!pattern.endsWith('.*')) return EVENT_TYPES.filter((type) => type === pattern);
  const prefix = pattern.slice(0, -1);
  return EVENT_TYPES.filter((type) => type.startsWith(prefix));
}

/**
 * An event as the journal holds it: numbered in the order it was reported (`seq`, increasing for the
 * life of the home, across restarts and rotations). `seq` is absent only from events journaled before
 * botsync numbered them.
 */
export type JournaledEvent = BotsyncEvent & { seq?: number };

/** One message to deliver: what a webhook call carries. */
export interface Notification {
  /** Stable across retries and restarts: the idempotency key. */
  id: string;
  createdAt: string;
  /** The text for the agent (file names quoted and marked as untrusted data). */
  message: string;
  /** How many events it covers (files, connections...). */
  eventCount: number;
}

/** Where and how notifications are delivered. The token is a secret: never logged or printed. */
export interface NotifyTarget {
  url: string;
  token: string;
  /** OpenClaw options passed through when set. */
  agentId?: string;
  sessionKey?: string;
  wakeMode?: 'now' | 'next-heartbeat';
}
