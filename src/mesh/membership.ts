import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { MachineDetails } from '../pairing/details.js';
import { decodeMachineDetails } from '../pairing/details.js';
import { parseDeviceId } from '../syncthing/device-id.js';
import { knownDevices, type BotsyncConfig, type PeerRecord } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import { readStateText } from '../lib/state-file.js';
import { peerInputFor, uniqueName } from './pairing-peers.js';

/**
 * How a network grown by successive invites converges, and how it shrinks. Every machine publishes
 * one record: itself, the peers it paired with directly, and the devices it revoked. Each author has
 * a folder of its own, `botsync-mesh-<DEVICE ID>` at `<state>/mesh/<DEVICE ID>/record.json`: send-only
 * on the author and shared with all its peers; on every other machine receive-only and shared with
 * the author alone. Syncthing takes a folder's index updates and blocks only from the devices the
 * folder is shared with, over their TLS-authenticated connections, so what arrives in X's folder was
 * sent by X, and no other member can write it, whatever it claims (file metadata is not signed, so a
 * folder all members share could not tell authors apart). A record counts only if its author is a
 * peer in config.json and the record is about that author.
 *
 * The rules (planMembership applies them; DESIGN.md, "Trust and access"):
 * - Introductions. A device a trusted record lists is adopted with the role and name that record
 *   gives it, and remembered as introduced `via` that record's author. A record lists only its
 *   author's direct pairings, so the role always comes from the pairing that established it: an
 *   author cannot pass on (or make up) a role for a device someone else paired. A record never
 *   changes a device this machine knows already, whatever it says about it (but for its author's word
 *   about itself, below). Every adoption is charged
 *   to the direct peer at the root of its `via` chain (a device introduced via X, X introduced via B:
 *   B's; kept as the device's `root`), and each direct peer's allowance is MAX_INTRODUCTIONS devices
 *   in all, counting every device here charged to it (so no record can rotate through a larger list,
 *   and dropping a link of a chain frees only that link's place), pending ones included. So one direct
 *   pairing brings in at most MAX_INTRODUCTIONS devices here, however deep its introductions chain;
 *   more are refused. With `mesh.approve` on, introduced devices wait in `pending` until `peers approve`.
 * - Revocations. `peers remove` puts the device on this machine's revoked list, published in its
 *   record. A device revoked by any trusted member is dropped here and not introduced again for as
 *   long as that member publishes the revocation, with one exception: a device this machine paired with directly after the revocation (by this
 *   machine's clock against the revoker's) stays. A direct pairing is the user's own, later word;
 *   without it a re-pairing on one machine would be undone by an older revocation on another.
 *   On the revoker itself only a new direct pairing clears its own revocation (peers.ts withPeer),
 *   and then its record stops publishing it and lists the device again, so the others, who honoured
 *   the revocation only as long as it was published, accept it again through that record.
 *   `peers remove --here` is a revocation that is kept on this machine and not published.
 *   The clocks compared are two machines' wall clocks; skew only matters for a re-pairing made
 *   within the skew of the revocation it overrides, and errs either way by that much. A revocation
 *   dated more than REVOCATION_SKEW_MS ahead of this machine's clock is not honoured (and is
 *   refused like an introduction over the allowance): it would otherwise outrank every later pairing.
 * - Leaving. `botsync leave` dates a `left` in the leaver's own record: a revocation of itself, by
 *   the one machine whose word about itself is final. Every member drops it as for a revocation, and
 *   puts it on its own revoked list, published, so no record (another member's, which may still list
 *   the leaver as its direct pairing) brings it back; only a new direct pairing does.
 * - Self-description. A record is its author's word about itself: a trusted peer's new name or role
 *   in its own record replaces the one this machine knew (its new role decides the folders shared
 *   with it, by the same rules as at its pairing). No other record changes either: what a record says
 *   about anyone but its author only ever introduces. A name this machine gave the peer itself holds
 *   until the peer announces a new one (PeerRecord.announced).
 */

/** Followed by the author's full device ID (76 characters in all; Syncthing sets no limit). */
const MESH_FOLDER_PREFIX = 'botsync-mesh-';

/** The one folder all members shared before records had a folder per author; removed on the next apply. */
export const LEGACY_MESH_FOLDER_ID = 'botsync-mesh';

/** An author's record, inside its mesh folder. */
export const RECORD_FILE = 'record.json';

/** A device ID in the canonical form botsync writes, and nothing else: safe as a directory name. */
const DEVICE_ID = /^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$/;

/** How many devices one direct pairing may bring in to this machine, through any chain of introductions. */
export const MAX_INTRODUCTIONS = 16;

/** How far ahead of this machine's clock a published revocation may be dated and still count. */
export const REVOCATION_SKEW_MS = 10 * 60_000;

/** Larger records are not read: honest ones list a machine's direct peers, well under this. */
const MAX_RECORD_BYTES = 256 * 1024;

/** A revocation as published: the device and when its revoker revoked it. */
export interface PublishedRevocation {
  deviceId: string;
  at: string;
}

export interface MeshRecord extends MachineDetails {
  /** The author's direct pairings: the only devices it can introduce. */
  peers: MachineDetails[];
  revoked: PublishedRevocation[];
  /** When the author left its network (`botsync leave`). */
  left?: string;
}

/**
 * What the rules read of a record: who wrote it, whom it introduces, whom it revokes, and, in a
 * record (not a host's pairing answer), the author's own name, role and whether it left.
 */
export type IntroducerRecord = Pick<MeshRecord, 'deviceId' | 'peers' | 'revoked'> & Partial<Pick<MeshRecord, 'name' | 'role' | 'left'>>;

export function meshFolderId(author: string): string {
  return `${MESH_FOLDER_PREFIX}${author}`;
}

/** The author of a botsync mesh folder, or undefined for any other folder ID (the user's folders included). */
export function meshFolderAuthor(folderId: string): string | undefined {
  if (!folderId.startsWith(MESH_FOLDER_PREFIX)) return undefined;
  const author = folderId.slice(MESH_FOLDER_PREFIX.length);
  return DEVICE_ID.test(author) ? author : undefined;
}

export function recordDir(layout: Layout, author: string): string {
  return join(layout.meshDir, author);
}

export function recordPath(layout: Layout, author: string): string {
  return join(recordDir(layout, author), RECORD_FILE);
}

/** Whether a path below the mesh directory, '/'-separated, is an author's record. */
export function isRecordPath(path: string): boolean {
  const [author, file, ...rest] = path.split('/');
  return rest.length === 0 && file === RECORD_FILE && DEVICE_ID.test(author!);
}

/** The directory of a mesh folder, made before Syncthing gets the folder; this machine's own ignores publishRecord's temporary file. */
export async function prepareRecordDir(layout: Layout, author: string, own: boolean): Promise<void> {
  await mkdir(recordDir(layout, author), { recursive: true, mode: 0o700 });
  if (own) await writeFile(join(recordDir(layout, author), '.stignore'), '*.tmp\n', { mode: 0o600 });
}

/** What the shared folder of earlier versions left in the mesh directory: records, temporary files, Syncthing's marker and ignores. */
const LEGACY_ENTRY = /^(\.stfolder|\.stignore|[A-Z2-7-]{63}\.json(\.tmp)?)$/;

/**
 * Removes from the mesh directory what no mesh folder holds any more: the record directories of
 * authors that are no longer peers (a peer added again starts from its next record, not an old
 * copy), and what the shared folder of earlier versions left. Anything else is left alone. Call it
 * once Syncthing has no folder on these paths. Returns the names removed.
 */
export async function pruneMeshDir(layout: Layout, authors: ReadonlySet<string>): Promise<string[]> {
  let names: string[];
  try {
    const entries = await readdir(layout.meshDir, { withFileTypes: true });
    names = entries.filter((entry) => (entry.isDirectory() && DEVICE_ID.test(entry.name) ? !authors.has(entry.name) : LEGACY_ENTRY.test(entry.name))).map((entry) => entry.name);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  for (const name of names) await rm(join(layout.meshDir, name), { recursive: true, force: true });
  return names;
}

export function recordOf(config: BotsyncConfig, addresses: string[]): MeshRecord {
  return {
    deviceId: config.deviceId,
    name: config.name,
    role: config.role,
    addresses,
    peers: config.peers
      .filter((peer) => peer.via === undefined)
      .map((peer) => ({ deviceId: peer.deviceId, name: peer.name, role: peer.role, addresses: peer.addresses.filter((a) => a !== 'dynamic') })),
    revoked: (config.revoked ?? []).filter((entry) => entry.here !== true).map(({ deviceId, at }) => ({ deviceId, at })),
    ...(config.left === undefined ? {} : { left: config.left }),
  };
}

/** Writes this machine's record (only when it changed) and returns whether it did. */
export async function publishRecord(layout: Layout, config: BotsyncConfig, addresses: string[]): Promise<boolean> {
  const path = recordPath(layout, config.deviceId);
  const text = `${JSON.stringify(recordOf(config, addresses), null, 2)}\n`;
  if ((await readStateText(path)) === text) return false;
  // Made here too: an address change can publish before the first apply has made the folder.
  await mkdir(recordDir(layout, config.deviceId), { recursive: true, mode: 0o700 });
  // Written beside it and renamed: Syncthing must never scan half a record. The .stignore keeps *.tmp out.
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return true;
}

/** A record that could not be used: reported once per `version` (of the file: its size and time). */
export interface RecordProblem {
  author: string;
  version: string;
  why: string;
}

export interface RecordsRead {
  /** Authentic records of trusted peers. */
  records: MeshRecord[];
  problems: RecordProblem[];
}

/**
 * The records of trusted peers, each read from its author's own folder (authentic by where it is:
 * see the top of this file), and about its author. Syncthing writes a received file beside it and
 * renames it into place, so a record is never read half-written. A local change to a receive-only
 * copy could only be made by this machine's own user, who is trusted with its state directory. Each
 * record stands alone: one that cannot be read is a problem of its own, and the others still count.
 */
export async function authenticRecords(layout: Layout, config: BotsyncConfig): Promise<RecordsRead> {
  const result: RecordsRead = { records: [], problems: [] };
  for (const { deviceId: author } of config.peers) {
    const reading = await readRecord(recordPath(layout, author), author);
    if ('record' in reading) result.records.push(reading.record);
    else if ('problem' in reading) result.problems.push(reading.problem);
  }
  return result;
}

type Reading = { record: MeshRecord } | { problem: RecordProblem } | { absent: true };

async function readRecord(path: string, author: string): Promise<Reading> {
  let version = 'unknown';
  const problem = (why: string): Reading => ({ problem: { author, version, why } });
  let text: string;
  // The peer controls what arrives in its folder, a symlink included (to /dev/zero, a FIFO, a file of
  // ours): opened without following links or blocking, and read only if it is a plain file, bounded.
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const info = await handle.stat();
    version = `${info.size}@${info.mtimeMs}`;
    if (!info.isFile()) return problem('it is not a plain file');
    if (info.size > MAX_RECORD_BYTES) return problem(`it is larger than ${MAX_RECORD_BYTES} bytes (${info.size})`);
    const buffer = Buffer.alloc(MAX_RECORD_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_RECORD_BYTES) return problem(`it is larger than ${MAX_RECORD_BYTES} bytes`);
    text = buffer.subarray(0, bytesRead).toString('utf8');
  } catch (error) {
    // Not here yet (a peer just added), or deleted since.
    if (errnoCode(error) === 'ENOENT') return { absent: true };
    // O_NOFOLLOW on a symlink.
    if (errnoCode(error) === 'ELOOP') return problem('it is a symbolic link');
    return problem(`it cannot be read: ${(error as Error).message}`);
  } finally {
    await handle?.close();
  }
  let record: MeshRecord;
  try {
    record = parseRecord(text);
  } catch (error) {
    return problem(`it is malformed (${(error as Error).message})`);
  }
  return record.deviceId === author ? { record } : problem(`it is about another device (${record.deviceId})`);
}

/** What one pass of the rules does to config.json, and what it has to announce. */
export interface MembershipPlan {
  /** Whether `config` differs from the one planned from. */
  changed: boolean;
  config: BotsyncConfig;
  /** Adopted now (each has `via`). */
  added: PeerRecord[];
  /** Introduced now, waiting for approval. */
  pending: PeerRecord[];
  /** Peers and pending devices dropped because a trusted member revoked them. */
  dropped: { peer: PeerRecord; by: string }[];
  /** Per author whose record was read: the devices it lists beyond its root's allowance of introductions. */
  refused: { via: string; deviceIds: string[] }[];
  /** Per author whose record was read: its revocations dated too far ahead to count (REVOCATION_SKEW_MS). */
  postdated: { via: string; revocations: PublishedRevocation[] }[];
  /** Peers whose own record gave them a new name or role: as they were, and as they are now. */
  described: { before: PeerRecord; peer: PeerRecord }[];
}

/**
 * Applies the rules at the top of this file to the config, given the authentic records of its
 * trusted peers (records of any other author are ignored). Deterministic for a given order of
 * records, and planning again from its result with the same records changes nothing; the records of
 * peers adopted now count from the next pass (MeshSync runs one when the trusted peers change).
 * Revocations are gathered from every record trusted at the start of the pass, including those of
 * authors it drops: two members revoking each other are both dropped, the cautious outcome. Pure.
 */
export function planMembership(config: BotsyncConfig, records: readonly IntroducerRecord[], now = new Date()): MembershipPlan {
  const trusted = new Set(config.peers.map((peer) => peer.deviceId));
  const read = records.filter((record) => trusted.has(record.deviceId));
  const postdatedAfter = now.getTime() + REVOCATION_SKEW_MS;
  // A record's word about this machine or its own author is not a revocation anyone can act on; its
  // author's leaving is, and counts as the author's revocation of itself.
  const published = read.map((record) => ({
    via: record.deviceId,
    revocations: [
      ...record.revoked.filter((entry) => entry.deviceId !== config.deviceId && entry.deviceId !== record.deviceId),
      ...(record.left === undefined ? [] : [{ deviceId: record.deviceId, at: record.left }]),
    ],
  }));
  const revocations = published.flatMap(({ via, revocations: list }) => list.filter((entry) => Date.parse(entry.at) <= postdatedAfter).map((entry) => ({ ...entry, by: via })));
  const postdated = published.map(({ via, revocations: list }) => ({ via, revocations: list.filter((entry) => Date.parse(entry.at) > postdatedAfter) }));
  const dropped: MembershipPlan['dropped'] = [];
  const keep = (peer: PeerRecord): boolean => {
    const pairedAt = peer.via === undefined ? Date.parse(peer.pairedAt ?? peer.addedAt) : Number.NEGATIVE_INFINITY;
    const revocation = revocations.find((entry) => entry.deviceId === peer.deviceId && !(pairedAt > Date.parse(entry.at)));
    if (revocation !== undefined) dropped.push({ peer, by: revocation.by });
    return revocation === undefined;
  };
  let working: BotsyncConfig = { ...config, peers: config.peers.filter(keep), pending: (config.pending ?? []).filter(keep) };
  const leavers = dropped.filter(({ peer, by }) => peer.deviceId === by).map(({ peer, by }) => ({ deviceId: peer.deviceId, at: revocations.find((entry) => entry.deviceId === peer.deviceId && entry.by === by)!.at }));
  if (leavers.length > 0) working = { ...working, revoked: [...(working.revoked ?? []).filter((entry) => !leavers.some((leaver) => leaver.deviceId === entry.deviceId)), ...leavers] };
  const described: MembershipPlan['described'] = [];
  let noted = false;
  for (const before of working.peers) {
    const own = read.find((record) => record.deviceId === before.deviceId && record.name !== undefined && record.role !== undefined);
    const peer = own === undefined ? before : selfDescribed(working, before, own.name!, own.role!);
    if (peer === before) continue;
    working = { ...working, peers: working.peers.map((entry) => (entry === before ? peer : entry)) };
    noted = true;
    if (peer.name !== before.name || peer.role !== before.role) described.push({ before, peer });
  }

  const blocked = new Set([
    config.deviceId,
    ...knownDevices(working).map((peer) => peer.deviceId),
    ...(config.revoked ?? []).map((entry) => entry.deviceId),
    ...revocations.map((entry) => entry.deviceId),
  ]);
  // Each adoption keeps its root, so dropping a link of a chain (X, via which others came) frees
  // only the link's own place in the allowance, not theirs.
  const rootOf = introductionRoots(knownDevices(config));
  const introduced = new Map<string, number>();
  for (const peer of knownDevices(working)) {
    if (peer.via !== undefined) introduced.set(rootOf(peer.deviceId), (introduced.get(rootOf(peer.deviceId)) ?? 0) + 1);
  }
  const approve = config.mesh?.approve === true;
  const added: PeerRecord[] = [];
  const pending: PeerRecord[] = [];
  const refused = new Map<string, string[]>();
  const survivors = new Set(working.peers.map((peer) => peer.deviceId));
  for (const record of read) {
    const via = record.deviceId;
    if (!survivors.has(via)) continue;
    const root = rootOf(via);
    refused.set(via, refused.get(via) ?? []);
    for (const machine of record.peers) {
      if (blocked.has(machine.deviceId)) continue;
      if ((introduced.get(root) ?? 0) >= MAX_INTRODUCTIONS) {
        refused.get(via)!.push(machine.deviceId);
        continue;
      }
      const input = peerInputFor(working, machine);
      const peer: PeerRecord = { deviceId: machine.deviceId, name: input.name!, role: machine.role, addresses: input.addresses!, addedAt: now.toISOString(), via, root };
      working = approve ? { ...working, pending: [...working.pending!, peer] } : { ...working, peers: [...working.peers, peer] };
      (approve ? pending : added).push(peer);
      blocked.add(machine.deviceId);
      introduced.set(root, (introduced.get(root) ?? 0) + 1);
    }
  }
  // A device one author may not introduce but another did is not refused.
  const adopted = new Set([...added, ...pending].map((peer) => peer.deviceId));
  const refusedList = [...refused].map(([via, ids]) => ({ via, deviceIds: [...new Set(ids)].filter((id) => !adopted.has(id)) }));
  const changed = dropped.length > 0 || added.length > 0 || pending.length > 0 || noted;
  if (config.pending === undefined && working.pending!.length === 0) delete working.pending;
  return { changed, config: changed ? working : config, added, pending, dropped, refused: refusedList, postdated, described };
}

/**
 * The peer as its own record describes it: its role, and its name when that is new since it last
 * announced one (the first name read from a peer added without one is only noted, so that a name
 * given with `peers add --name` stays until the peer renames itself). The same peer when nothing changes.
 */
function selfDescribed(config: BotsyncConfig, peer: PeerRecord, name: string, role: PeerRecord['role']): PeerRecord {
  const renamed = peer.announced !== undefined && peer.announced !== name;
  if (!renamed && peer.announced !== undefined && peer.role === role) return peer;
  return { ...peer, role, announced: name, ...(renamed ? { name: uniqueName(config, peer.deviceId, name) } : {}) };
}

/**
 * For each device, the direct peer whose pairing brought it in: its `root`, or for entries written
 * before roots were kept, its `via` followed back to a device paired directly. A chain that leaves
 * the known devices ends at the last device it names.
 */
function introductionRoots(devices: readonly PeerRecord[]): (deviceId: string) => string {
  const byId = new Map(devices.map((peer) => [peer.deviceId, peer]));
  return (deviceId) => {
    const seen = new Set<string>();
    let current = deviceId;
    for (let peer = byId.get(current); peer?.via !== undefined && !seen.has(current); peer = byId.get(current)) {
      if (peer.root !== undefined) return peer.root;
      seen.add(current);
      current = peer.via;
    }
    return current;
  };
}

/**
 * Throws on anything malformed: such a record is skipped whole, its author is broken and nothing it
 * says can be relied on. Fields other than those of MeshRecord (a `folders` list, a `via`) are not read.
 */
export function parseRecord(text: string): MeshRecord {
  const value = JSON.parse(text) as { peers?: unknown; revoked?: unknown; left?: unknown };
  const machine = (entry: unknown) => decodeMachineDetails(new TextEncoder().encode(JSON.stringify(entry)));
  const list = (field: unknown) => (field === undefined ? [] : Array.isArray(field) ? field : fail());
  const revocation = (entry: unknown): PublishedRevocation => {
    const { deviceId, at } = (entry ?? {}) as { deviceId?: unknown; at?: unknown };
    if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) fail();
    return { deviceId: parseDeviceId(String(deviceId)), at: at as string };
  };
  if (value.left !== undefined && (typeof value.left !== 'string' || Number.isNaN(Date.parse(value.left)))) fail();
  return { ...machine(value), peers: list(value.peers).map(machine), revoked: list(value.revoked).map(revocation), ...(value.left === undefined ? {} : { left: value.left as string }) };
}

function fail(): never {
  throw new Error('malformed mesh record');
}
