/**
 * Delivery you can see: what each peer still needs of this machine's folders (`status`, `diff`), and
 * `botsync sync [--wait]`, an agent's "my deliverable has reached the human".
 *
 * When a peer has something: Syncthing's completion for (folder, device) is computed here, from this
 * machine's index against the index the device last sent. A device sends its index update for a file
 * only once the file is in place on its disk, so `needItems` 0 means it is there. Completion's
 * percentage alone is not enough: it subtracts the bytes the device reports downloaded, so it reads
 * 100 while the last file still sits in the device's temporary file.
 *
 * `sync` scans first, with /rest/db/scan, which answers only once the scan is in the index: a write
 * made just before is then part of what the peers are compared against. Without that scan (or with
 * only the daemon's fast scan, which runs on its own time) completion could still read 100 from
 * before the write.
 */
import { BotsyncError } from '../errors.js';
import { askDaemon } from '../ipc/client.js';
import { parseInterval } from '../lib/time/duration.js';
import { pollUntil } from '../lib/time/poll.js';
import { namedPeer } from '../mesh/peers.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { Connections, DbListedFile, FilePage, FolderConfig } from '../syncthing/rest-types.js';
import type { BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { folderById } from '../workspace/roles.js';
import { readOfferLabel } from './offers.js';

/** How one peer stands in one folder shared with it. */
export interface FolderProgress {
  folder: string;
  /** Syncthing's percentage; null for a folder paused here (Syncthing computes nothing for it). */
  completion: number | null;
  /** Items (files, directories, symlinks, deletions) the peer does not have yet. */
  items: number;
  bytes: number;
}

export interface PeerProgress {
  deviceId: string;
  name: string;
  connected: boolean;
  folders: FolderProgress[];
}

/**
 * botsync's folders as this Syncthing has them (the three and the added ones, known by their label:
 * not its internal mesh folders), each with the devices it is shared with.
 */
export async function deliveryFolders(client: SyncthingClient): Promise<FolderConfig[]> {
  return (await client.folders()).filter((folder) => folderById(folder.id) !== undefined || readOfferLabel(folder.label) !== undefined);
}

/** Per device: how it stands in each of `folders` shared with it, all asked at once. */
export async function progressByDevice(client: SyncthingClient, folders: readonly FolderConfig[], deviceIds: readonly string[]): Promise<Map<string, FolderProgress[]>> {
  const entries = await Promise.all(
    deviceIds.map(async (deviceId) => {
      const shared = folders.filter((folder) => folder.devices.some((device) => device.deviceID === deviceId));
      return [deviceId, await Promise.all(shared.map((folder) => folderProgress(client, folder, deviceId)))] as const;
    }),
  );
  return new Map(entries);
}

async function folderProgress(client: SyncthingClient, folder: FolderConfig, device: string): Promise<FolderProgress> {
  if (folder.paused) return { folder: folder.id, completion: null, items: 0, bytes: 0 };
  const completion = await client.completion({ folder: folder.id, device });
  return { folder: folder.id, completion: completion.completion, items: completion.needItems + completion.needDeletes, bytes: completion.needBytes };
}

/** What the daemon answers `sync` with at each look: every peer's standing, and the folders paused here. */
export interface DeliveryProgress {
  peers: PeerProgress[];
  pausedFolders: string[];
}

/**
 * With `confirm`, a folder the counters call done is checked against Syncthing's list of what the
 * device needs, which Syncthing walks item by item: `sync` asks so once, before it says "complete",
 * so that no count kept apart from the index (completion's) is the only witness. It costs a walk of
 * the folder's index, which is why it is not asked at every look.
 */
export async function deliveryProgress(client: SyncthingClient, config: BotsyncConfig, { confirm }: { confirm: boolean }): Promise<DeliveryProgress> {
  const [folders, { connections }] = await Promise.all([deliveryFolders(client), client.connections()]);
  const byDevice = await progressByDevice(client, folders, config.peers.map((peer) => peer.deviceId));
  if (confirm) {
    await Promise.all(
      [...byDevice].flatMap(([deviceId, progress]) =>
        progress
          .filter((folder) => folder.completion !== null && folder.items === 0)
          .map(async (folder) => {
            folder.items = filesOf(await client.remoteNeed(folder.folder, deviceId, 1, 1)).length;
          }),
      ),
    );
  }
  return {
    peers: config.peers.map((peer) => ({ deviceId: peer.deviceId, name: peer.name, connected: connections[peer.deviceId]?.connected === true, folders: byDevice.get(peer.deviceId) ?? [] })),
    pausedFolders: folders.filter((folder) => folder.paused).map((folder) => folder.id),
  };
}

/** Scans every folder that is not paused, all at once; answers once each scan is in the index. */
export async function scanFolders(client: SyncthingClient): Promise<{ folders: string[] }> {
  const folders = (await deliveryFolders(client)).filter((folder) => !folder.paused).map((folder) => folder.id);
  await Promise.all(folders.map((folder) => client.scan(folder)));
  return { folders };
}

export interface Missing {
  peer: string;
  folder: string;
  items: number;
  bytes: number;
}

export interface Pending {
  /** The peers waited for, by name. */
  peers: string[];
  missing: Missing[];
  /** Every peer seen connected so far. */
  seen: Set<string>;
}

/**
 * What is still missing, and for whom. Waited for: with `all`, every peer; otherwise every peer seen
 * connected since the wait began (one that drops out mid-transfer has not got the file), or every
 * peer while none is connected: a human whose machine is off has not got the deliverable either.
 * Folders paused here are left out: nothing moves in them until `botsync resume`. Pure.
 */
export function pendingDelivery(peers: readonly PeerProgress[], all: boolean, seenBefore: ReadonlySet<string>): Pending {
  const seen = new Set([...seenBefore, ...peers.filter((peer) => peer.connected).map((peer) => peer.deviceId)]);
  const targets = all || seen.size === 0 ? peers : peers.filter((peer) => seen.has(peer.deviceId));
  const missing = targets.flatMap((peer) =>
    peer.folders
      .filter((folder) => folder.completion !== null && (folder.items > 0 || folder.completion < 100))
      .map((folder) => ({ peer: peer.name, folder: folder.folder, items: folder.items, bytes: folder.bytes })),
  );
  return { peers: targets.map((peer) => peer.name), missing, seen };
}

export interface SyncOptions {
  wait: boolean;
  timeoutMs: number;
  all: boolean;
  /** Called after each look while waiting, with the seconds waited so far. */
  onProgress?: (pending: Pending, seconds: number) => void;
}

export interface SyncReport {
  complete: boolean;
  /** Seconds from the start of the scan to the answer. */
  waited: number;
  missing: Missing[];
  /** The peers waited for (see pendingDelivery). */
  peers: string[];
  /** Folders paused here: not scanned, not waited for. */
  pausedFolders: string[];
}

/** How often `sync --wait` looks again. */
const SYNC_POLL_MS = 250;
/** Scans answer once done, and a big folder's takes a while; each folder's is bounded by the client. */
const SCAN_ANSWER_MS = 120_000;

/** `botsync sync [--wait]`: the daemon scans every folder now; with `wait`, until every peer has everything or the timeout. */
export async function syncFolders(layout: Layout, options: SyncOptions): Promise<SyncReport> {
  const started = Date.now();
  await askDaemon(layout, 'delivery.scan', undefined, SCAN_ANSWER_MS);
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  let seen: ReadonlySet<string> = new Set();
  let last!: Pending;
  let pausedFolders: string[] = [];
  const ask = async (confirm: boolean) => {
    const progress = await askDaemon(layout, 'delivery.progress', { confirm });
    pausedFolders = progress.pausedFolders;
    last = pendingDelivery(progress.peers, options.all, seen);
    seen = last.seen;
  };
  const look = async (): Promise<true | undefined> => {
    await ask(false);
    if (last.missing.length === 0) await ask(true);
    if (options.wait) options.onProgress?.(last, seconds());
    return last.missing.length === 0 ? true : undefined;
  };
  const complete = options.wait ? (await pollUntil(look, { everyMs: SYNC_POLL_MS, timeoutMs: options.timeoutMs })) === true : (await look()) === true;
  return { complete, waited: seconds(), missing: last.missing, peers: last.peers, pausedFolders };
}

/** `--timeout` of `sync --wait`: 30s, 10m, 2h. */
export function parseSyncTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SYNC_TIMEOUT_MS;
  const ms = parseInterval(text);
  if (ms === undefined) throw new BotsyncError('BAD_INPUT', `"${text}" is not a duration for --timeout.`, { hint: 'Give a number and a unit: --timeout 30s, 10m or 2h.' });
  return ms;
}

/** Long enough for a big deliverable on a slow link, short enough that a stuck agent learns of it. */
export const DEFAULT_SYNC_TIMEOUT_MS = 10 * 60_000;

export interface DiffEntry {
  folder: string;
  path: string;
  size: number;
  /** A deletion the other side has not made yet. */
  deleted: boolean;
}

export interface PeerDiff {
  peer: string;
  deviceId: string;
  connected: boolean;
  /** What the peer still needs from this machine (Syncthing's remote need of it). */
  theyNeed: DiffEntry[];
  /** What this machine still needs, in the folders shared with the peer. */
  weNeed: DiffEntry[];
  /** Changes made here in receive-only folders shared with the peer: never sent (`botsync pull` drops them). */
  localChanges: DiffEntry[];
  /** How many more items each list has than it shows. */
  more: { theyNeed: number; weNeed: number; localChanges: number };
}

export interface DiffRequest {
  /** A peer's name or ID; none: every peer. */
  peer?: string;
  /** The most items each list shows. */
  limit: number;
}

export const DEFAULT_DIFF_LIMIT = 100;
/** Syncthing's pages, for a limit above it. */
const PAGE = 1000;

/** `botsync diff [PEER]`: the peer is checked here (bad input is refused with or without a daemon), the lists made by the daemon. */
export function diffPeers(layout: Layout, config: BotsyncConfig, request: DiffRequest): Promise<PeerDiff[]> {
  if (request.peer !== undefined) namedPeer(config, request.peer);
  if (!(Number.isInteger(request.limit) && request.limit > 0)) {
    throw new BotsyncError('BAD_INPUT', `--limit must be a whole number above 0, not ${request.limit}.`, { hint: `Leave it out for ${DEFAULT_DIFF_LIMIT}.` });
  }
  return askDaemon(layout, 'delivery.diff', request);
}

/** A folder's list, as many pages as it takes to show `limit` items, and its full length. */
export interface Listed {
  entries: DiffEntry[];
  total: number;
}

export async function collectDiff(client: SyncthingClient, config: BotsyncConfig, request: DiffRequest): Promise<PeerDiff[]> {
  const peers = request.peer === undefined ? config.peers : [namedPeer(config, request.peer)];
  const [all, { connections }] = await Promise.all([deliveryFolders(client), client.connections()]);
  // Paused folders answer no lists; what they hold waits for `botsync resume`.
  const folders = all.filter((folder) => !folder.paused);
  const ours = new Map(await Promise.all(folders.map(async (folder) => [folder.id, await ownLists(client, folder, request.limit)] as const)));
  return Promise.all(peers.map((peer) => peerDiff(client, peer.deviceId, peer.name, connections, folders, ours, request.limit)));
}

async function peerDiff(
  client: SyncthingClient,
  deviceId: string,
  name: string,
  connections: Connections['connections'],
  folders: readonly FolderConfig[],
  ours: ReadonlyMap<string, { weNeed: Listed; localChanges: Listed }>,
  limit: number,
): Promise<PeerDiff> {
  const shared = folders.filter((folder) => folder.devices.some((device) => device.deviceID === deviceId));
  const theyNeed = await Promise.all(
    shared.map(async (folder): Promise<Listed> => {
      const [entries, completion] = await Promise.all([
        listPages(folder.id, limit, (page, perpage) => client.remoteNeed(folder.id, deviceId, page, perpage).then(filesOf)),
        client.completion({ folder: folder.id, device: deviceId }),
      ]);
      return { entries, total: completion.needItems + completion.needDeletes };
    }),
  );
  const mine = shared.map((folder) => ours.get(folder.id)!);
  const [they, we, local] = [theyNeed, mine.map((lists) => lists.weNeed), mine.map((lists) => lists.localChanges)].map((lists) => capped(lists, limit));
  return {
    peer: name,
    deviceId,
    connected: connections[deviceId]?.connected === true,
    theyNeed: they!.entries,
    weNeed: we!.entries,
    localChanges: local!.entries,
    more: { theyNeed: they!.more, weNeed: we!.more, localChanges: local!.more },
  };
}

/** What this machine needs of a folder, and its local changes there: the same whichever peer asks. */
async function ownLists(client: SyncthingClient, folder: FolderConfig, limit: number): Promise<{ weNeed: Listed; localChanges: Listed }> {
  const receiveOnly = folder.type === 'receiveonly';
  const [status, weNeed, localChanges] = await Promise.all([
    client.folderStatus(folder.id),
    listPages(folder.id, limit, async (page, perpage) => {
      const need = await client.need(folder.id, page, perpage);
      return [...(need.progress ?? []), ...(need.queued ?? []), ...(need.rest ?? [])];
    }),
    receiveOnly ? listPages(folder.id, limit, (page, perpage) => client.localChanged(folder.id, page, perpage).then(filesOf)) : [],
  ]);
  return {
    weNeed: { entries: weNeed, total: status.needTotalItems ?? status.needFiles },
    localChanges: { entries: localChanges, total: receiveOnly ? (status.receiveOnlyTotalItems ?? 0) : 0 },
  };
}

function filesOf(page: FilePage): DbListedFile[] {
  return page.files ?? [];
}

/** Up to `limit` items of a paged list, a page at a time (Syncthing's pages count from 1). */
export async function listPages(folder: string, limit: number, fetch: (page: number, perpage: number) => Promise<DbListedFile[]>): Promise<DiffEntry[]> {
  const perpage = Math.min(limit, PAGE);
  const entries: DiffEntry[] = [];
  for (let page = 1; entries.length < limit; page++) {
    const files = await fetch(page, perpage);
    entries.push(...files.slice(0, limit - entries.length).map((file) => ({ folder, path: file.name, size: file.size, deleted: file.deleted })));
    if (files.length < perpage) break;
  }
  return entries;
}

/** The folders' lists as one, cut at `limit`, and how many more there are in all. Pure. */
export function capped(lists: readonly Listed[], limit: number): { entries: DiffEntry[]; more: number } {
  const entries = lists.flatMap((list) => list.entries);
  const total = lists.reduce((sum, list) => sum + Math.max(list.total, list.entries.length), 0);
  const shown = entries.slice(0, limit);
  return { entries: shown, more: total - shown.length };
}

