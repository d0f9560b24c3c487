/**
 * Turns one Syncthing event into the botsync event a notification reports, or nothing.
 *
 * ItemFinished is what Syncthing's puller emits when it has written (or failed to write) an item it
 * fetched from a peer: it fires on the receiving machine only, never for a change made on the machine
 * itself (checked against Syncthing 1.19: a local write produces ItemFinished on the peers that pull
 * it, and none locally). So every successful ItemFinished in a user folder is a file received from a
 * peer. Failed items are left to FolderErrors, which reports them with their reasons; a folder that
 * stops as a whole (StateChanged to "error") is a folder.error with a reason.
 *
 * Conflict copies: the machine whose version lost makes the copy itself (its puller renames the file
 * and scans it: LocalChangeDetected there, no ItemFinished), and every other machine receives it
 * (ItemFinished). Either is a file.conflict instead of a file.received; a copy deleted (settled) is an
 * ordinary change. A copy of an append-only file is neither: the merge removes it within a second, and
 * announces the copies that stay (daemon/append-merge.ts).
 */
import { sep } from 'node:path';
import type { SyncthingEvent } from '../syncthing/rest-types.js';
import { linkLeavesFolder } from '../folders/symlinks.js';
import { parseConflictName, type ConflictCopy } from '../folders/conflict-name.js';
import type { BotsyncEvent, FileAction, FileChangedEvent, FileConflictEvent, FileKind, FileReceivedEvent } from './types.js';

export interface NormalizeLookup {
  /**
   * Whether a folder is one people and agents use (the three, and those added: folders/home-folders.ts);
   * botsync's own (botsync-mesh-*) are internal and never reported.
   */
  isUserFolder(folder: string): boolean;
  /** The name botsync knows the device by (peers chose it: it is quoted when shown). */
  deviceName(id: string): string;
  /** This machine's name: a conflict copy its own Syncthing made holds this machine's version. */
  ownName: string;
  /** The machine whose version a conflict copy received from a peer holds (folders/conflicts.ts conflictAuthor), or null. */
  copyAuthor(folder: string, conflictPath: string): Promise<string | null>;
  /** Whether a folder-relative path is an append-only file (the merge patterns). */
  appendOnly(path: string): boolean;
  /** The name of the device that made an item's current version (Syncthing's modifiedBy), or null when unknown. */
  sender(folder: string, path: string): Promise<string | null>;
  /** The size of a file as it is now, or null when it is gone or unknown. */
  fileSize(folder: string, path: string): Promise<number | null>;
  /**
   * The text of a link (path '/'-separated) as it is now, or null when it is gone. Syncthing 1.19's /rest/db/file does not
   * give a link's target (only its type), so it is read where Syncthing wrote it.
   */
  linkTarget(folder: string, path: string): Promise<string | null>;
}

/** An item the puller wrote without error (a successful ItemFinished): what becomes news once its author is known. */
export function receivedItem(event: SyncthingEvent): { folder: string; item: string } | undefined {
  if (event.type !== 'ItemFinished' || !isRecord(event.data)) return undefined;
  const { item, folder, error } = event.data;
  if (typeof item !== 'string' || typeof folder !== 'string' || (error !== null && error !== undefined && error !== '')) return undefined;
  return { folder, item };
}

/**
 * RemoteChangeDetected: the puller recorded an item it took from a peer, with `modifiedBy`, the short
 * id of the device that made that version (what `/rest/db/file` would say; Syncthing 1.19's folder.go).
 */
export function remoteChange(event: SyncthingEvent): { key: string; by: string } | undefined {
  if (event.type !== 'RemoteChangeDetected' || !isRecord(event.data)) return undefined;
  const { folder, path, modifiedBy } = event.data;
  if (typeof folder !== 'string' || typeof path !== 'string' || typeof modifiedBy !== 'string') return undefined;
  return { key: itemKey(folder, path), by: modifiedBy };
}

/** One item of one folder, as both events name it. */
export function itemKey(folder: string, item: string): string {
  return `${folder}\u0000${slashPath(item)}`;
}

const ACTIONS: ReadonlySet<string> = new Set<FileAction>(['update', 'delete', 'metadata']);
/** ItemFinished's `type`: "file", "dir" or "symlink" (Syncthing 1.19's puller). */
const KINDS: ReadonlySet<string> = new Set<FileKind>(['file', 'dir', 'symlink']);

export async function normalize(event: SyncthingEvent, lookup: NormalizeLookup): Promise<BotsyncEvent | undefined> {
  const data: Record<string, unknown> = isRecord(event.data) ? event.data : {};
  const time = isoTime(event.time);
  switch (event.type) {
    case 'ItemFinished': {
      const { item, folder, error, type, action } = data;
      if (typeof item !== 'string' || typeof folder !== 'string' || typeof action !== 'string') return undefined;
      if (error !== null && error !== undefined && error !== '') return undefined;
      if (!lookup.isUserFolder(folder) || !ACTIONS.has(action)) return undefined;
      const path = slashPath(item);
      const copy = type === 'file' ? parseConflictName(path) : undefined;
      // Made and removed by the merge within a second: neither is news (the merged file is).
      if (copy !== undefined && lookup.appendOnly(copy.original)) return undefined;
      if (copy !== undefined && action === 'update') return conflictEvent(time, folder, path, copy, await detail(() => lookup.copyAuthor(folder, path)));
      const kind = typeof type === 'string' && KINDS.has(type) ? (type as FileKind) : 'file';
      const from = await detail(() => lookup.sender(folder, item));
      const received: FileReceivedEvent = { type: 'file.received', time, folder, path, action: action as FileAction, kind, size: null, from };
      if (action === 'delete') return received;
      if (kind === 'file') return { ...received, size: await detail(() => lookup.fileSize(folder, item)) };
      if (kind !== 'symlink') return received;
      const target = await detail(() => lookup.linkTarget(folder, path));
      if (target === null) return received;
      return linkLeavesFolder(path, target) ? { ...received, target, outside: true } : { ...received, target };
    }
    case 'LocalChangeDetected': {
      // Every local change comes here: a conflict copy this machine's Syncthing made is news, any other change is history.
      const { folder, path, type, action } = data;
      if (typeof folder !== 'string' || typeof path !== 'string' || !lookup.isUserFolder(folder)) return undefined;
      if (type === 'file' && action !== 'deleted') {
        const copy = parseConflictName(slashPath(path));
        // A copy of an append-only file is the merge's to announce (daemon/append-merge.ts).
        if (copy !== undefined) return lookup.appendOnly(copy.original) ? undefined : conflictEvent(time, folder, slashPath(path), copy, lookup.ownName);
      }
      return changedEvent(time, folder, path, type, action, lookup);
    }
    case 'DeviceConnected': {
      if (typeof data.id !== 'string') return undefined;
      return { type: 'device.connected', time, deviceId: data.id, name: lookup.deviceName(data.id) };
    }
    case 'DeviceDisconnected': {
      if (typeof data.id !== 'string') return undefined;
      const reason = typeof data.error === 'string' && data.error !== '' ? data.error : null;
      return { type: 'device.disconnected', time, deviceId: data.id, name: lookup.deviceName(data.id), reason };
    }
    case 'FolderErrors': {
      const { folder, errors } = data;
      if (typeof folder !== 'string' || !lookup.isUserFolder(folder) || !Array.isArray(errors)) return undefined;
      // Syncthing ends some error texts with a newline.
      const list = errors.filter(isRecord).map((entry) => ({ path: String(entry.path ?? ''), error: String(entry.error ?? '').trimEnd() }));
      if (list.length === 0) return undefined;
      return { type: 'folder.error', time, folder, errors: list };
    }
    case 'StateChanged': {
      // The folder as a whole stopped: its path is gone, or the disk has no room left for Syncthing's database.
      const { folder, to, error } = data;
      if (typeof folder !== 'string' || !lookup.isUserFolder(folder) || to !== 'error') return undefined;
      const reason = typeof error === 'string' && error.trim() !== '' ? error.trimEnd() : 'Syncthing gave no reason';
      return { type: 'folder.error', time, folder, reason, errors: [] };
    }
    default:
      return undefined;
  }
}

function conflictEvent(time: string, folder: string, conflictPath: string, copy: ConflictCopy, from: string | null): FileConflictEvent {
  return { type: 'file.conflict', time, folder, path: copy.original, conflictPath, from };
}

/**
 * A change this machine makes and sends. Syncthing's own files (its directories, its temporary files,
 * which botsync's merge writes under too) and conflict copies (made by Syncthing, settled by botsync)
 * are not changes of the user's. A file pulled from a peer is no local change: Syncthing reports it as
 * RemoteChangeDetected, never LocalChangeDetected; nor is a change in a receive-only folder, which is
 * not sent and which Syncthing does not report either (its scanner marks it invalid: checked on 1.19).
 */
async function changedEvent(time: string, folder: string, item: string, type: unknown, action: unknown, lookup: NormalizeLookup): Promise<FileChangedEvent | undefined> {
  const path = slashPath(item);
  const segments = path.split('/');
  if (SYNCTHING_ROOT_NAMES.has(segments[0]!) || segments.some((name) => name.startsWith('.syncthing.') || name.startsWith('~syncthing~'))) return undefined;
  if (parseConflictName(path) !== undefined) return undefined;
  const kind = typeof type === 'string' && KINDS.has(type) ? (type as FileKind) : 'file';
  const changed: FileChangedEvent = { type: 'file.changed', time, folder, path, action: action === 'deleted' ? 'delete' : 'update', kind, size: null };
  if (kind !== 'file' || changed.action === 'delete') return changed;
  return { ...changed, size: await detail(() => lookup.fileSize(folder, item)) };
}

/** Syncthing's own names at the top of a folder. */
const SYNCTHING_ROOT_NAMES: ReadonlySet<string> = new Set(['.stversions', '.stfolder', '.stignore']);

/**
 * A size or a link's text only adds to the event; failing the delivery over it would repeat or hold
 * back the whole batch (the item may be gone already, or Syncthing busy). An escaping link whose text
 * could not be read is still found by `botsync doctor`, on disk.
 */
async function detail<T>(read: () => Promise<T | null>): Promise<T | null> {
  try {
    return await read();
  } catch {
    return null;
  }
}

/** Syncthing names items with the OS separator; botsync's events always use '/'. */
function slashPath(item: string): string {
  return sep === '\\' ? item.replaceAll('\\', '/') : item;
}

/** Syncthing's times carry nanoseconds and a local offset; botsync's events use UTC ISO-8601. */
function isoTime(time: string): string {
  const parsed = new Date(time);
  return Number.isNaN(parsed.getTime()) ? new Date().toISOString() : parsed.toISOString();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
