import { BotsyncError } from '../errors.js';
import { folderById } from '../workspace/roles.js';
import type { BotsyncEvent } from './types.js';

/**
 * Which events wake the agent (`notify set --folders F,F --events K,K`): an inbox-only agent pays to
 * be woken for its inbox, not for every file of shared/. Events outside the filter are still
 * journaled for `botsync events`; they are only not sent.
 */

export const EVENT_KINDS = ['files', 'conflicts', 'deletions', 'devices', 'pairing', 'backups'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Absent: everything. */
export interface NotifyFilter {
  folders?: string[];
  events?: EventKind[];
}

/**
 * The kind each event is filtered as. Failures (a folder that stopped, events lost) have none: they are
 * why expected news may not come, so they are sent whatever the kinds (a folder filter still applies).
 */
const KIND_OF: Readonly<Record<BotsyncEvent['type'], EventKind | null>> = {
  'file.received': 'files',
  // Never sent (notify/types.ts isNotified); a kind for the journal's sake.
  'file.changed': 'files',
  'file.conflict': 'conflicts',
  'files.deleted': 'deletions',
  'device.connected': 'devices',
  'device.disconnected': 'devices',
  'peer.added': 'devices',
  'peer.pending': 'devices',
  'peer.revoked': 'devices',
  'peer.changed': 'devices',
  'peer.refused': 'devices',
  'revocation.refused': 'devices',
  'pairing.completed': 'pairing',
  'backup.failed': 'backups',
  // A peer offering to share a folder is news of the peers, as a pairing is.
  'folder.offered': 'pairing',
  'folder.error': null,
  'events.missed': null,
};

export function passesFilter(filter: NotifyFilter, event: BotsyncEvent): boolean {
  const kind = KIND_OF[event.type];
  if (filter.events !== undefined && kind !== null && !filter.events.includes(kind)) return false;
  return filter.folders === undefined || !('folder' in event) || filter.folders.includes(event.folder);
}

/** What `--folders` and `--events` were given; `all` clears a filter (null), absent keeps it (undefined). */
export interface FilterFlags {
  folders?: string;
  events?: string;
}

/** The filter after the flags, on top of `current`; exit 2 with a hint for an unknown folder or kind. */
export function applyFilterFlags(current: NotifyFilter, flags: FilterFlags, isFolder: (id: string) => boolean = (id) => folderById(id) !== undefined): NotifyFilter {
  const folders = flags.folders === undefined ? current.folders : listOrAll(flags.folders, '--folders', (name) => {
    const id = name.replace(/\/+$/, '');
    if (!isFolder(id)) {
      throw new BotsyncError('BAD_INPUT', `There is no folder "${name}".`, { hint: 'Name folders by their ID, as `botsync status` lists them (e.g. --folders inbox), or all.' });
    }
    return id;
  });
  const events = flags.events === undefined ? current.events : listOrAll(flags.events, '--events', (name) => {
    if (!(EVENT_KINDS as readonly string[]).includes(name)) {
      throw new BotsyncError('BAD_INPUT', `"${name}" is not a kind of notification.`, { hint: `Use ${EVENT_KINDS.join(', ')} (separated by commas), or all.` });
    }
    return name as EventKind;
  });
  return { ...(folders === undefined ? {} : { folders }), ...(events === undefined ? {} : { events }) };
}

/** A comma-separated list, each item checked; undefined for `all`. */
function listOrAll<T>(text: string, flag: string, check: (item: string) => T): T[] | undefined {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 1 && items[0] === 'all') return undefined;
  if (items.length === 0) throw new BotsyncError('BAD_INPUT', `${flag} needs at least one name.`, { hint: `For example ${flag} ${flag === '--folders' ? 'inbox' : 'files,conflicts'}, or ${flag} all for every one.` });
  return [...new Set(items.map(check))];
}
