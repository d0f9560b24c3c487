import { BotsyncError } from '../errors.js';
import { shortDeviceId } from '../syncthing/device-id.js';
import type { Layout } from './layout.js';
import { ROLES, type FolderType, type Role } from './roles.js';
import { corruptState, readJsonFile, writeJsonAtomic } from '../lib/state-file.js';
import { withLock } from '../lib/lock.js';

export type NetworkProfile = 'internet' | 'lan' | 'loopback';
export const NETWORK_PROFILES: readonly NetworkProfile[] = ['internet', 'lan', 'loopback'];

export interface PeerRecord {
  deviceId: string;
  name: string;
  role: Role;
  /** Addresses to dial; ['dynamic'] lets Syncthing discover them. */
  addresses: string[];
  addedAt: string;
  /** Right after a pairing: the addresses to dial until the first connection (see daemon/first-dial.ts). */
  dialFirst?: { addresses: string[]; until: string };
  /** The peer whose mesh record (or pairing answer) introduced it; absent: paired with this machine directly. */
  via?: string;
  /** For an introduced device: the direct peer at the root of its `via` chain, whose allowance it uses (mesh/membership.ts). */
  root?: string;
  /** When this machine last paired with it directly (absent on older homes: `addedAt`); see mesh/membership.ts. */
  pairedAt?: string;
  /** The name the device last gave itself (pairing, its mesh record): a new one renames it here (mesh/membership.ts). */
  announced?: string;
}

/** Another device as events and `status` name it: its ID and the name this machine knows it by. */
export interface PeerRef {
  deviceId: string;
  name: string;
}

/** Every device this machine knows: its peers and the devices waiting for approval. */
export function knownDevices(config: BotsyncConfig): PeerRecord[] {
  return [...config.peers, ...(config.pending ?? [])];
}

export function peerRef(config: BotsyncConfig, deviceId: string): PeerRef {
  const known = knownDevices(config).find((peer) => peer.deviceId === deviceId);
  return { deviceId, name: known?.name ?? shortDeviceId(deviceId) };
}

/** A device this machine removed with `peers remove`: no record brings it back, only a new direct pairing. */
export interface Revocation {
  deviceId: string;
  /** When, by this machine's clock. */
  at: string;
  /** `peers remove --here`: kept on this machine only, never published in its mesh record. */
  here?: true;
}

/** How an added folder flows from this machine: `folders add --type`. */
export type AddedFolderType = 'two-way' | 'send' | 'receive';
export const ADDED_FOLDER_TYPES: readonly AddedFolderType[] = ['two-way', 'send', 'receive'];
/** What each added folder type is in Syncthing's words. */
export const SYNCTHING_TYPE: Readonly<Record<AddedFolderType, FolderType>> = { 'two-way': 'sendreceive', send: 'sendonly', receive: 'receiveonly' };

/** A folder beyond the three: added here with `folders add`, or accepted from a peer's offer with `folders accept`. */
export interface AddedFolder {
  /** Folder ID, the same on every machine that syncs it. */
  id: string;
  /** Absolute, on this machine; each machine chooses its own. */
  path: string;
  type: AddedFolderType;
  /** The preset whose rules its .botsyncignore started from (folders/presets.ts). */
  preset?: string;
  /** The device IDs it is shared with, or every peer (those paired later too). */
  peers: string[] | 'all';
  addedAt: string;
}

/** botsync's own record of a home: the desired state the daemon applies to Syncthing. */
export interface BotsyncConfig {
  version: 1;
  deviceId: string;
  name: string;
  role: Role;
  network: NetworkProfile;
  /** Syncthing's GUI/REST endpoint (host:port on 127.0.0.1) and its API key. */
  gui: { address: string; apiKey: string };
  /** Port Syncthing listens on for peers in the loopback profile. */
  listenPort: number;
  peers: PeerRecord[];
  /** Introduced devices waiting for `peers approve` (with `mesh.approve` on); not given to Syncthing. */
  pending?: PeerRecord[];
  revoked?: Revocation[];
  /** `mesh.approve`: introduced devices wait for approval instead of being adopted. */
  mesh?: { approve: boolean };
  /** `versions.keep`: how long replaced and deleted files are kept (folders/versions.ts); absent: 30 days. */
  versions?: { keep: string };
  /** `merge.append`: the glob patterns of append-only files (folders/append-merge.ts); absent: the defaults. */
  merge?: { append: string[] };
  /** Folders added with `folders add` / `folders accept` (folders/added.ts); absent: none. */
  folders?: AddedFolder[];
  /** `botsync pause`: peers (by device ID) and folders (by ID) that do not sync until `botsync resume` (mesh/pause.ts). */
  paused?: { peers: string[]; folders: string[] };
  /** The pairing relay chosen at init with --relay / BOTSYNC_RELAY, if any. */
  relay?: string;
  /** Self-hosted global discovery servers (--discovery); absent: Syncthing's public ones. */
  discovery?: string[];
  /** Self-hosted relays (--relays); absent: Syncthing's public pool. */
  relays?: string[];
  /** When this machine left its network (`botsync leave`); its mesh record says so until a new pairing. */
  left?: string;
  createdAt: string;
}

export async function loadConfig(layout: Layout): Promise<BotsyncConfig> {
  const raw = await readJsonFile(layout.configFile);
  if (raw === undefined) {
    throw new BotsyncError('NOT_INITIALISED', `No botsync home at ${layout.home}.`, {
      hint: 'Run `botsync init` (or pass --home DIR / set BOTSYNC_HOME to the home you meant).',
    });
  }
  return parseConfig(raw, layout.configFile);
}

/** Loads the config if the home is initialised, undefined if not; a corrupt file still throws. */
export async function tryLoadConfig(layout: Layout): Promise<BotsyncConfig | undefined> {
  const raw = await readJsonFile(layout.configFile);
  return raw === undefined ? undefined : parseConfig(raw, layout.configFile);
}

/**
 * Writes config.json. Only with its lock held (withConfigLock): every change is a read-modify-write,
 * and two processes making theirs at once would each write over the other's. Changes go through
 * updateConfig; init, which creates the file, holds the lock itself.
 */
export async function saveConfig(layout: Layout, config: BotsyncConfig): Promise<void> {
  await writeJsonAtomic(layout.configFile, config);
}

/** Longer than any holder keeps it (a read, an edit and an atomic write; init's set-up, under a second). */
const CONFIG_LOCK_WAIT_MS = 15_000;

/**
 * Runs `work` as the one writer of config.json across processes (DESIGN "Daemon"): the daemon and
 * every command take this lock around their read-modify-write, so twenty concurrent `peers add`
 * save twenty peers. A holder that died is recognised by its identity and its lock taken over.
 */
export function withConfigLock<T>(layout: Layout, work: () => Promise<T>): Promise<T> {
  return withLock(layout.configLockFile, work, {
    waitMs: CONFIG_LOCK_WAIT_MS,
    busy: (holder) =>
      new BotsyncError('CONFIG_BUSY', `${layout.configFile} is being changed by another botsync process${holder === undefined ? '' : ` (pid ${holder})`} and was not free within ${CONFIG_LOCK_WAIT_MS / 1000} s.`, {
        hint: holder === undefined ? 'Try again.' : `Try again; if it keeps happening, see what process ${holder} is doing (\`ps -o args= -p ${holder}\`).`,
      }),
  });
}

/**
 * Changes config.json as it is now: `edit` gets what another process may just have written, not a
 * copy read before. Returns the config before and after; an edit that returns undefined changes
 * nothing, and `config` is then `before` itself.
 */
export function updateConfig(layout: Layout, edit: (current: BotsyncConfig) => BotsyncConfig | undefined): Promise<{ before: BotsyncConfig; config: BotsyncConfig }> {
  return withConfigLock(layout, async () => {
    const before = await loadConfig(layout);
    const config = edit(before);
    if (config === undefined) return { before, config: before };
    await saveConfig(layout, config);
    return { before, config };
  });
}

function parseConfig(raw: unknown, path: string): BotsyncConfig {
  const fail = (why: string) => corruptState(path, why);
  if (!isObject(raw)) throw fail('it is not a JSON object');
  if (raw.version !== 1) throw fail(`unknown version ${JSON.stringify(raw.version)}`);
  requireString(raw, 'deviceId', fail);
  requireString(raw, 'name', fail);
  requireString(raw, 'createdAt', fail);
  if (!ROLES.includes(raw.role as Role)) throw fail('"role" must be agent or human');
  if (!NETWORK_PROFILES.includes(raw.network as NetworkProfile)) throw fail('"network" must be internet, lan or loopback');
  if (!isObject(raw.gui)) throw fail('"gui" is missing');
  requireString(raw.gui, 'address', fail);
  requireString(raw.gui, 'apiKey', fail);
  if (!Number.isInteger(raw.listenPort)) throw fail('"listenPort" must be an integer');
  if (!Array.isArray(raw.peers)) throw fail('"peers" must be a list');
  if (raw.relay !== undefined && typeof raw.relay !== 'string') throw fail('"relay" must be a URL');
  for (const key of ['discovery', 'relays']) {
    const value = raw[key];
    if (value !== undefined && !(Array.isArray(value) && value.length > 0 && value.every((url) => typeof url === 'string'))) throw fail(`"${key}" must be a list of URLs`);
  }
  if (raw.pending !== undefined && !Array.isArray(raw.pending)) throw fail('"pending" must be a list');
  if (raw.left !== undefined && (typeof raw.left !== 'string' || Number.isNaN(Date.parse(raw.left)))) throw fail('"left" must be a time');
  if (raw.revoked !== undefined && !(Array.isArray(raw.revoked) && raw.revoked.every((entry) => isObject(entry) && typeof entry.deviceId === 'string' && typeof entry.at === 'string'))) {
    throw fail('"revoked" must be a list of device IDs with times');
  }
  if (raw.mesh !== undefined && !(isObject(raw.mesh) && typeof raw.mesh.approve === 'boolean')) throw fail('"mesh.approve" must be true or false');
  if (raw.versions !== undefined && !(isObject(raw.versions) && typeof raw.versions.keep === 'string')) throw fail('"versions.keep" must be a duration like 30d, or off');
  if (raw.merge !== undefined && !(isObject(raw.merge) && Array.isArray(raw.merge.append) && raw.merge.append.every((glob) => typeof glob === 'string'))) throw fail('"merge.append" must be a list of patterns');
  if (raw.folders !== undefined && !(Array.isArray(raw.folders) && raw.folders.every(isAddedFolder))) throw fail('"folders" must be a list of folders with an id, a path, a type and peers');
  if (raw.paused !== undefined && !(isObject(raw.paused) && isStringList(raw.paused.peers) && isStringList(raw.paused.folders))) throw fail('"paused" must list peers and folders');
  for (const peer of [...raw.peers, ...((raw.pending as unknown[] | undefined) ?? [])]) {
    if (!isObject(peer)) throw fail('a peer is not an object');
    requireString(peer, 'deviceId', fail);
    requireString(peer, 'name', fail);
    if (!ROLES.includes(peer.role as Role)) throw fail(`peer ${String(peer.name)} has no valid role`);
    if (!Array.isArray(peer.addresses) || !peer.addresses.every((a) => typeof a === 'string')) {
      throw fail(`peer ${String(peer.name)} has no valid address list`);
    }
  }
  return raw as unknown as BotsyncConfig;
}

function isAddedFolder(value: unknown): boolean {
  if (!isObject(value) || typeof value.id !== 'string' || typeof value.path !== 'string' || typeof value.addedAt !== 'string') return false;
  if (!ADDED_FOLDER_TYPES.includes(value.type as AddedFolderType) || (value.preset !== undefined && typeof value.preset !== 'string')) return false;
  return value.peers === 'all' || (Array.isArray(value.peers) && value.peers.every((peer) => typeof peer === 'string'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function requireString(obj: Record<string, unknown>, key: string, fail: (why: string) => Error): void {
  if (typeof obj[key] !== 'string' || obj[key] === '') throw fail(`"${key}" is missing`);
}
