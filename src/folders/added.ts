import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BotsyncError, errnoCode } from '../errors.js';
import { askDaemon, askDaemonOr, askDaemonOrChange } from '../ipc/client.js';
import { findPeer } from '../mesh/peers.js';
import type { SyncthingClient } from '../syncthing/client.js';
import { ADDED_FOLDER_TYPES, loadConfig, peerRef, updateConfig, type AddedFolder, type AddedFolderType, type BotsyncConfig } from '../workspace/config.js';
import type { FolderOfferDetails } from '../pairing/details.js';
import type { PendingFolders } from '../syncthing/rest-types.js';
import type { Layout } from '../workspace/layout.js';
import { folderById, type FolderType } from '../workspace/roles.js';
import { homeFolders, isWithin, sharedDevices } from './home-folders.js';
import { writeSharedIgnores } from './ignore.js';
import { FOLDER_ID, offersFrom, type FolderOffer } from './offers.js';
import { presetByName, PRESETS } from './presets.js';

/**
 * `botsync folders list|add|accept|remove`: folders beyond the three. An added folder is recorded in
 * config.json and applied by the daemon like the others (mesh/apply.ts), shared with the peers named
 * (default: every peer, those paired later too), who get it as an offer to accept (offers.ts). Nothing
 * here ever deletes or moves a file: `remove` only stops syncing.
 */

export interface AddFolderInput {
  /** Absolute (the CLI resolves it against its working directory: the daemon's is not the user's). */
  path: string;
  id?: string;
  type?: AddedFolderType;
  preset?: string;
  /** Peers by name or device ID; none: every peer. */
  peers?: string[];
}

export interface AcceptFolderInput {
  id: string;
  /** Absolute; default `<home>/folders/<ID>`. */
  path?: string;
}

/** One line of `folders list --json`. */
export interface FolderEntry {
  id: string;
  path: string;
  type: AddedFolderType;
  preset?: string;
  /** The peers it is shared with (for an offer: the peers offering it), by name. */
  peers: string[];
  /** A peer's offer, not synced here until `folders accept`; its path is where accept puts it by default. */
  offered?: true;
}

export interface FolderChange {
  folder: FolderEntry;
  /** Whether a running Syncthing took the change now; otherwise the daemon applies it when it starts. */
  applied: boolean;
}

const WORDS: Readonly<Record<FolderType, AddedFolderType>> = { sendreceive: 'two-way', sendonly: 'send', receiveonly: 'receive' };

// ---- What the CLI calls -------------------------------------------------------------------------

export function addFolder(layout: Layout, input: AddFolderInput): Promise<FolderChange> {
  const request = { ...input, path: resolve(input.path) };
  return askDaemonOrChange(layout, 'folders.add', request, async () => {
    const folder = await addFolderWith(layout, request, (edit) => updateConfig(layout, edit).then(({ config }) => config));
    return { folder: entryOf(await loadConfig(layout), folder), applied: false };
  });
}

export function removeFolder(layout: Layout, id: string): Promise<FolderChange> {
  return askDaemonOrChange(layout, 'folders.remove', id, async () => {
    let removed!: AddedFolder;
    const { before } = await updateConfig(layout, (current) => {
      const edited = withoutFolder(current, id);
      removed = edited.folder;
      return edited.config;
    });
    return { folder: entryOf(before, removed), applied: false };
  });
}

/** Accepting reads the offer from Syncthing, which only the daemon's runs. */
export function acceptFolder(layout: Layout, input: AcceptFolderInput): Promise<FolderChange> {
  return askDaemon(layout, 'folders.accept', { id: input.id, ...(input.path === undefined ? {} : { path: resolve(input.path) }) });
}

/** Without a daemon (no Syncthing to ask), the folders of config.json alone: offers need Syncthing. */
export async function listFolders(layout: Layout): Promise<FolderEntry[]> {
  return askDaemonOr(layout, 'folders.list', undefined, async () => folderEntries(layout, await loadConfig(layout), []));
}

// ---- The work, for the daemon and for a command without one -------------------------------------

/**
 * Checks a new folder against config.json as it is (then again inside the edit, against what another
 * process may just have written), writes its ignore rules, and records it with `update`.
 */
export async function addFolderWith(layout: Layout, input: AddFolderInput, update: (edit: (current: BotsyncConfig) => BotsyncConfig) => Promise<BotsyncConfig>): Promise<AddedFolder> {
  const config = await loadConfig(layout);
  const path = await canonical(input.path);
  await requireDirectory(path, input.path);
  const folder = newFolder(layout, config, { ...input, path });
  // The offering machine writes the shared rules (its peers receive them): a preset's, or the defaults.
  await writeSharedIgnores(path, folder.preset === undefined ? {} : { preset: folder.preset });
  await update((current) => withFolder(layout, current, folder));
  return folder;
}

/**
 * Accepts a peer's offer: the folder is made where asked (default `<home>/folders/<ID>`), with its
 * ignore rules in place before Syncthing gets it, and shared with the peers offering it. A folder of
 * that ID that is here already (accepted from another peer) is shared with these peers too.
 */
export async function acceptWith(layout: Layout, client: SyncthingClient, input: AcceptFolderInput, update: (edit: (current: BotsyncConfig) => BotsyncConfig) => Promise<BotsyncConfig>): Promise<AddedFolder> {
  const config = await loadConfig(layout);
  const offer = (await currentOffers(client, config)).find((candidate) => candidate.id === input.id);
  if (offer === undefined) {
    throw new BotsyncError('BAD_INPUT', `No peer offers a folder ${JSON.stringify(input.id)}.`, { hint: 'The offers are the entries marked offered in `botsync folders list`.' });
  }
  const offeredBy = offer.from.map((peer) => peer.deviceId);
  const existing = (config.folders ?? []).find((folder) => folder.id === offer.id);
  if (existing !== undefined) {
    if (input.path !== undefined && (await canonical(input.path)) !== existing.path) {
      throw new BotsyncError('BAD_INPUT', `Folder ${offer.id} is synced here already, at ${existing.path}.`, { hint: `Accept it without a path (\`botsync folders accept ${offer.id}\`) to share it with ${offer.from.map((peer) => peer.name).join(', ')} too.` });
    }
    const widened: AddedFolder = { ...existing, peers: existing.peers === 'all' ? 'all' : [...new Set([...existing.peers, ...offeredBy])] };
    await update((current) => ({ ...current, folders: (current.folders ?? []).map((folder) => (folder.id === offer.id ? widened : folder)) }));
    return widened;
  }
  const path = await canonical(input.path ?? join(layout.acceptedFoldersDir, offer.id));
  const folder = newFolder(layout, config, { path, id: offer.id, type: offer.type, ...(offer.preset === undefined ? {} : { preset: offer.preset }), peers: offeredBy });
  await mkdir(path, { recursive: true });
  await requireDirectory(path, input.path ?? path);
  // The apply that gives Syncthing the folder first puts the preset's rules in its .stignore
  // (mesh/apply.ts): they hold from the first scan, so nothing of this machine's that the preset never
  // shares (an IDENTITY.md already there) is sent before the offerer's .botsyncignore arrives.
  await update((current) => withFolder(layout, current, folder));
  return folder;
}

/** The folders peers offer this machine now (Syncthing's pending list, read as offers.ts says). */
export async function currentOffers(client: SyncthingClient, config: BotsyncConfig): Promise<FolderOffer[]> {
  return offersIn(await client.pendingFolders(), config);
}

function offersIn(pending: PendingFolders, config: BotsyncConfig): FolderOffer[] {
  return offersFrom(pending, config, (id) => reservedId(id), (name) => PRESETS.some((preset) => preset.name === name));
}

/**
 * What a pairing brought beyond the three folders, for `join`: the folders added here that are now
 * shared with the peer, then the folders it offers. Those come from its pairing details, read as its
 * Syncthing's offer is read, since that offer may not have reached this machine's Syncthing yet.
 */
export async function pairedFolders(layout: Layout, peer: { deviceId: string; offers: readonly FolderOfferDetails[] }): Promise<FolderEntry[]> {
  const config = await loadConfig(layout);
  const time = new Date().toISOString();
  const pending: PendingFolders = Object.fromEntries(peer.offers.map((offer) => [offer.id, { offeredBy: { [peer.deviceId]: { time, label: offer.label, receiveEncrypted: false, remoteEncrypted: false } } }]));
  const name = peerRef(config, peer.deviceId).name;
  return folderEntries(layout, config, offersIn(pending, config)).filter((entry) => folderById(entry.id) === undefined && (entry.offered === true || entry.peers.includes(name)));
}

/** What `folders list` shows: every folder synced here, then the offers of folders not here yet. */
export function folderEntries(layout: Layout, config: BotsyncConfig, offers: readonly FolderOffer[]): FolderEntry[] {
  const names = new Map(config.peers.map((peer) => [peer.deviceId, peer.name]));
  const synced = homeFolders(layout, config).map((folder): FolderEntry => ({
    id: folder.id,
    path: folder.path,
    type: WORDS[folder.type],
    ...(folder.added?.preset === undefined ? {} : { preset: folder.added.preset }),
    peers: folder.devices.map((deviceId) => names.get(deviceId) ?? deviceId),
  }));
  const here = new Set(synced.map((folder) => folder.id));
  const offered = offers
    .filter((offer) => !here.has(offer.id))
    .map((offer): FolderEntry => ({
      id: offer.id,
      path: join(layout.acceptedFoldersDir, offer.id),
      type: offer.type,
      ...(offer.preset === undefined ? {} : { preset: offer.preset }),
      peers: offer.from.map((peer) => peer.name),
      offered: true,
    }));
  return [...synced, ...offered];
}

export function entryOf(config: BotsyncConfig, folder: AddedFolder): FolderEntry {
  const names = new Map(config.peers.map((peer) => [peer.deviceId, peer.name]));
  return { id: folder.id, path: folder.path, type: folder.type, ...(folder.preset === undefined ? {} : { preset: folder.preset }), peers: sharedDevices(config, folder).map((deviceId) => names.get(deviceId)!) };
}

// ---- Pure edits of the config --------------------------------------------------------------------

/**
 * The record of a new folder, checked: its ID (given, or made from the directory's name), type,
 * preset and peers, and that its directory overlaps none of the folders synced here nor botsync's
 * state. `input.path` is canonical (symbolic links resolved). Pure.
 */
export function newFolder(layout: Layout, config: BotsyncConfig, input: AddFolderInput, now = new Date()): AddedFolder {
  // Where it is first: `folders add ~/sync/shared` is about the place, whatever ID its name would give.
  checkPlace(layout, config, input.path);
  const id = input.id ?? idFor(input.path);
  if (!FOLDER_ID.test(id)) {
    throw new BotsyncError('BAD_INPUT', `${JSON.stringify(id)} cannot be a folder ID.`, { hint: 'Use letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit), with --id.' });
  }
  if (reservedId(id)) throw new BotsyncError('BAD_INPUT', `The folder ID ${id} is botsync's own.`, { hint: 'Choose another with --id.' });
  const type = input.type ?? 'two-way';
  if (!ADDED_FOLDER_TYPES.includes(type)) throw new BotsyncError('BAD_INPUT', `There is no folder type ${JSON.stringify(type)}.`, { hint: `The types are ${ADDED_FOLDER_TYPES.join(', ')}.` });
  if (input.preset !== undefined) presetByName(input.preset);
  const peers =
    input.peers === undefined || input.peers.length === 0
      ? ('all' as const)
      : [
          ...new Set(
            input.peers.map((name) => {
              const peer = findPeer({ ...config, pending: [] }, name);
              if (peer === undefined) throw new BotsyncError('UNKNOWN_PEER', `No peer named or with the ID ${JSON.stringify(name)}.`, { hint: 'See the peers with `botsync peers list`.' });
              return peer.deviceId;
            }),
          ),
        ];
  const folder: AddedFolder = { id, path: input.path, type, ...(input.preset === undefined ? {} : { preset: input.preset }), peers, addedAt: now.toISOString() };
  checkFits(layout, config, folder);
  return folder;
}

/** The config with the folder added, checked again against it. Pure. */
export function withFolder(layout: Layout, config: BotsyncConfig, folder: AddedFolder): BotsyncConfig {
  checkFits(layout, config, folder);
  return { ...config, folders: [...(config.folders ?? []), folder] };
}

/** The config without the added folder of that ID; the three cannot be removed. Pure. */
export function withoutFolder(config: BotsyncConfig, id: string): { config: BotsyncConfig; folder: AddedFolder } {
  if (folderById(id) !== undefined) {
    throw new BotsyncError('BAD_INPUT', `${id}/ is one of botsync's three folders, which always sync.`, { hint: 'Only folders added with `botsync folders add` or `accept` can be removed (`botsync folders list`).' });
  }
  const folder = (config.folders ?? []).find((candidate) => candidate.id === id);
  if (folder === undefined) throw new BotsyncError('BAD_INPUT', `There is no folder ${JSON.stringify(id)}.`, { hint: 'See the folders with `botsync folders list`.' });
  return { config: { ...config, folders: (config.folders ?? []).filter((candidate) => candidate !== folder) }, folder };
}

/** The three's IDs and botsync's own (`botsync-mesh-*`, and any other of that prefix it may need). */
function reservedId(id: string): boolean {
  return folderById(id) !== undefined || /^botsync/i.test(id);
}

/** A folder ID from a directory's name: `My Workspace` -> `my-workspace`. */
function idFor(path: string): string {
  const id = basename(path)
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64);
  return id === '' ? 'folder' : id;
}

/** BAD_INPUT for a directory that is, holds or lies in a folder synced here, or an ID taken. */
function checkFits(layout: Layout, config: BotsyncConfig, folder: AddedFolder): void {
  checkPlace(layout, config, folder.path);
  if (homeFolders(layout, config).some((other) => other.id === folder.id)) {
    throw new BotsyncError('BAD_INPUT', `There is a folder ${folder.id} already.`, { hint: 'Choose another ID with --id (`botsync folders list` shows the folders).' });
  }
}

/** BAD_INPUT for a directory that is, holds or lies in a folder synced here, or botsync's state: a file is in one folder only. */
function checkPlace(layout: Layout, config: BotsyncConfig, path: string): void {
  for (const other of [...homeFolders(layout, config).map((entry) => ({ what: `folder ${entry.id}`, path: entry.path })), { what: "botsync's own state", path: layout.stateDir }]) {
    const why = path === other.path ? 'is' : isWithin(path, other.path) ? 'lies inside' : isWithin(other.path, path) ? 'holds' : undefined;
    if (why !== undefined) {
      throw new BotsyncError('BAD_INPUT', `${path} ${why} ${other.what} (${other.path}); a file can be in one synced folder only.`, {
        hint: 'Give a directory outside the folders synced here (`botsync folders list` shows them).',
      });
    }
  }
}

/** The path with its symbolic links resolved, as far as it exists: a folder is compared by where it really is. */
async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT' || dirname(path) === path) throw error;
    return join(await canonical(dirname(path)), basename(path));
  }
}

async function requireDirectory(path: string, given: string): Promise<void> {
  const isDir = await stat(path).then(
    (stats) => stats.isDirectory(),
    (error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    },
  );
  if (isDir === undefined) throw new BotsyncError('BAD_INPUT', `There is no directory ${given}.`, { hint: '`botsync folders add` shares an existing directory: create it first, or check the path.' });
  if (!isDir) throw new BotsyncError('BAD_INPUT', `${given} is not a directory.`, { hint: 'Give the directory to share, not a file in it.' });
}
