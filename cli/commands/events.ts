import { followJournal, readJournal } from '../../src/notify/journal.js';
import { quote } from '../../src/notify/format.js';
import type { BotsyncEvent, FileReceivedEvent } from '../../src/notify/types.js';
import { loadConfig } from '../../src/workspace/config.js';
import type { Context } from '../context.js';

interface EventsFlags {
  follow?: boolean;
}

/** The event feed: NDJSON with --json (one event per line, for agents), a line of text each otherwise. */
export async function run(context: Context, flags: EventsFlags): Promise<void> {
  await loadConfig(context.layout);
  const print = (event: BotsyncEvent) => process.stdout.write(`${context.out.json ? JSON.stringify(event) : describe(event)}\n`);
  const { events, offset } = await readJournal(context.layout);
  events.forEach(print);
  if (flags.follow !== true) return;
  const stop = new AbortController();
  const end = () => stop.abort();
  process.once('SIGINT', end);
  process.once('SIGTERM', end);
  // A reader that went away (`| head`) ends the follow instead of an EPIPE crash.
  process.stdout.once('error', end);
  await followJournal(context.layout, offset, print, stop.signal);
}

function linkSuffix(event: FileReceivedEvent): string {
  if (event.target === undefined) return '';
  return ` -> ${quote(event.target)}${event.outside === true ? '  OUTSIDE its folder' : ''}`;
}

function describe(event: BotsyncEvent): string {
  switch (event.type) {
    case 'file.received':
      return `${event.time}  received  ${event.folder}/${JSON.stringify(event.path)} (${event.action}${event.size === null ? '' : `, ${event.size} bytes`})${linkSuffix(event)}`;
    case 'file.conflict':
      return `${event.time}  conflict  ${event.folder}/${JSON.stringify(event.path)}: copy ${JSON.stringify(event.conflictPath)} (named after ${JSON.stringify(event.from)})`;
    case 'device.connected':
      return `${event.time}  connected     ${JSON.stringify(event.name)} ${event.deviceId}`;
    case 'device.disconnected':
      return `${event.time}  disconnected  ${JSON.stringify(event.name)} ${event.deviceId}${event.reason === null ? '' : ` (${event.reason})`}`;
    case 'pairing.completed':
      return `${event.time}  paired    ${JSON.stringify(event.name)} (${event.role}) ${event.deviceId}`;
    case 'peer.added':
      return `${event.time}  added     ${JSON.stringify(event.name)} (${event.role}) ${event.deviceId}, introduced by ${JSON.stringify(event.via.name)}`;
    case 'peer.pending':
      return `${event.time}  pending   ${JSON.stringify(event.name)} (${event.role}) ${event.deviceId}, introduced by ${JSON.stringify(event.via.name)}: \`botsync peers approve\``;
    case 'peer.revoked':
      return `${event.time}  revoked   ${JSON.stringify(event.name)} ${event.deviceId}, by ${JSON.stringify(event.by.name)}`;
    case 'peer.refused':
      return `${event.time}  refused   ${event.count} introduction(s) by ${JSON.stringify(event.via.name)} over the limit of ${event.limit}`;
    case 'revocation.refused':
      return `${event.time}  refused   ${event.count} revocation(s) by ${JSON.stringify(event.via.name)} dated more than ${event.skewMinutes} minutes ahead`;
    case 'files.deleted':
      return `${event.time}  deleted   ${event.count} file(s) in ${event.folder}/ by ${event.from === null ? 'a peer' : JSON.stringify(event.from)}: \`botsync recover\` brings them back`;
    case 'folder.error':
      return event.reason === undefined
        ? `${event.time}  error     ${event.folder}: ${event.errors.length} file(s) could not be synced`
        : `${event.time}  error     ${event.folder} stopped syncing: ${JSON.stringify(event.reason)}`;
    case 'folder.offered':
      return `${event.time}  offered   folder ${quote(event.folder)} by ${quote(event.from)} (${event.folderType} here${event.preset === undefined ? '' : `, preset ${event.preset}`}): \`botsync folders accept\``;
    case 'backup.failed':
      return `${event.time}  backup    failed while ${event.stage}: ${JSON.stringify(event.message)}${event.retryAt === null ? '' : `; next try ${event.retryAt}`}`;
    case 'events.missed':
      return `${event.time}  missed    ${event.count ?? 'some'} event(s): ${event.reason}`;
  }
}
