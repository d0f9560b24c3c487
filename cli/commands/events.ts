import { BotsyncError } from '../../src/errors.js';
import { parseMoment } from '../../src/lib/time/duration.js';
import { followJournal, readJournal, type JournalQuery } from '../../src/notify/journal.js';
import { folderName, quote, token } from '../../src/notify/format.js';
import { EVENT_TYPES, typesMatching, type FileReceivedEvent, type JournaledEvent } from '../../src/notify/types.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

interface EventsFlags {
  follow?: boolean;
  since?: string;
  type?: string[];
}

/**
 * The event history and feed: NDJSON with --json (one event per line, for agents), a line of text
 * each otherwise. Without --since it prints the whole history, or, with --follow, only what comes next.
 */
export async function run(context: Context, flags: EventsFlags): Promise<void> {
  const query = queryOf(flags, Date.now());
  await loadConfig(context.layout);
  const print = (event: JournaledEvent) => process.stdout.write(`${context.out.json ? JSON.stringify(event) : describe(event)}\n`);
  // Following from the end needs only where the end is: nothing is after the last seq.
  const fromEnd = flags.follow === true && flags.since === undefined;
  const { events, position } = await readJournal(context.layout, fromEnd ? { afterSeq: Number.POSITIVE_INFINITY } : query);
  events.forEach(print);
  if (flags.follow !== true) return;
  const stop = new AbortController();
  const end = () => stop.abort();
  process.once('SIGINT', end);
  process.once('SIGTERM', end);
  // A reader that went away (`| head`) ends the follow instead of an EPIPE crash.
  process.stdout.once('error', end);
  await followJournal(context.layout, position, print, stop.signal, { types: query.types });
}

function queryOf(flags: EventsFlags, now: number): JournalQuery {
  const query: JournalQuery = {};
  if (flags.since !== undefined) {
    if (/^\d+$/.test(flags.since.trim())) query.afterSeq = Number(flags.since.trim());
    else query.since = parseMoment(flags.since, now);
    if (query.since === undefined && query.afterSeq === undefined) {
      throw new BotsyncError('BAD_INPUT', `--since ${quote(flags.since, 64)} is neither an event number, a duration nor a time.`, {
        hint: 'For example --since 42 (after event 42), --since 10m or --since 2026-12-01T10:00:00Z.',
      });
    }
  }
  const patterns = flags.type ?? [];
  if (patterns.length > 0) {
    const unknown = patterns.find((pattern) => typesMatching(pattern).length === 0);
    if (unknown !== undefined) {
      throw new BotsyncError('BAD_INPUT', `--type ${quote(unknown, 64)} is no event type.`, { hint: `Types: ${EVENT_TYPES.join(', ')} (or a prefix such as file.*).` });
    }
    const wanted = new Set<string>(patterns.flatMap(typesMatching));
    query.types = (type) => wanted.has(type);
  }
  return query;
}

function linkSuffix(event: FileReceivedEvent): string {
  if (event.target === undefined) return '';
  return ` -> ${quote(event.target)}${event.outside === true ? '  OUTSIDE its folder' : ''}`;
}

function sizeOf(size: number | null): string {
  return size === null ? '' : `, ${size} bytes`;
}

/** One line per event; every name that came from elsewhere is quoted as the webhook quotes it (notify/format.ts). */
function describe(event: JournaledEvent): string {
  return `${event.seq ?? '-'}  ${event.time}  ${what(event)}`;
}

function what(event: JournaledEvent): string {
  switch (event.type) {
    case 'file.received': {
      const from = event.from === undefined || event.from === null ? '' : ` from ${quote(event.from)}`;
      return `received  ${folderName(event.folder)} ${quote(event.path)}${from} (${event.action}${sizeOf(event.size)})${linkSuffix(event)}`;
    }
    case 'file.changed':
      return `changed   ${folderName(event.folder)} ${quote(event.path)} (${event.action}${sizeOf(event.size)}), sent to peers`;
    case 'file.conflict':
      return `conflict  ${folderName(event.folder)} ${quote(event.path)}: copy ${quote(event.conflictPath)}${event.from === null ? '' : ` (the version of ${quote(event.from)})`}`;
    case 'device.connected':
      return `connected     ${quote(event.name)} ${token(event.deviceId)}`;
    case 'device.disconnected':
      return `disconnected  ${quote(event.name)} ${token(event.deviceId)}${event.reason === null ? '' : ` (${quote(event.reason)})`}`;
    case 'pairing.completed':
      return `paired    ${quote(event.name)} (${token(event.role)}) ${token(event.deviceId)}`;
    case 'peer.added':
      return `added     ${quote(event.name)} (${token(event.role)}) ${token(event.deviceId)}, introduced by ${quote(event.via.name)}`;
    case 'peer.pending':
      return `pending   ${quote(event.name)} (${token(event.role)}) ${token(event.deviceId)}, introduced by ${quote(event.via.name)}: \`botsync peers approve\``;
    case 'peer.revoked':
      return `revoked   ${quote(event.name)} ${token(event.deviceId)}, by ${quote(event.by.name)}`;
    case 'peer.changed':
      return `changed   ${quote(event.before.name)} ${token(event.deviceId)}: now ${quote(event.name)} (${token(event.role)}), was ${quote(event.before.name)} (${token(event.before.role)})`;
    case 'peer.refused':
      return `refused   ${event.count} introduction(s) by ${quote(event.via.name)} over the limit of ${event.limit}`;
    case 'revocation.refused':
      return `refused   ${event.count} revocation(s) by ${quote(event.via.name)} dated more than ${event.skewMinutes} minutes ahead`;
    case 'files.deleted':
      return `deleted   ${event.count} file(s) in ${folderName(event.folder)} by ${event.from === null ? 'a peer' : quote(event.from)}: \`botsync recover\` brings them back`;
    case 'folder.error':
      return event.reason === undefined
        ? `error     ${folderName(event.folder)}: ${event.errors.length} file(s) could not be synced`
        : `error     ${folderName(event.folder)} stopped syncing: ${quote(event.reason)}`;
    case 'folder.offered':
      return `offered   folder ${folderName(event.folder)} by ${quote(event.from)} (${event.folderType} here${event.preset === undefined ? '' : `, preset ${token(event.preset)}`}): \`botsync folders accept\``;
    case 'backup.failed':
      return `backup    failed while ${event.stage}: ${quote(event.message)}${event.retryAt === null ? '' : `; next try ${event.retryAt}`}`;
    case 'events.missed':
      return `missed    ${event.count ?? 'some'} event(s): ${event.reason}`;
  }
}
