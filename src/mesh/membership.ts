import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { MachineDetails } from '../pairing/details.js';
import { decodeMachineDetails } from '../pairing/details.js';
import { shortDeviceId } from '../syncthing/device-id.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';

/**
 * How a network grown by successive invites converges. Every machine publishes, in a private folder
 * that all members sync (`<state>/mesh`, folder ID botsync-mesh), one record: itself and the peers it
 * added. A machine adopts a device it does not know when a peer it trusts lists it; so when A invites C,
 * B learns C from A's record. Authorship is Syncthing's own: a record counts only if Syncthing says its
 * current version was made by the device the record is about, over their authenticated connection.
 * Removals are not propagated: removing a peer is a local decision.
 */

export const MESH_FOLDER_ID = 'botsync-mesh';

export interface MeshRecord extends MachineDetails {
  peers: MachineDetails[];
}

export function meshDir(layout: Layout): string {
  return join(layout.stateDir, 'mesh');
}

/** Writes this machine's record (only when it changed) and returns whether it did. */
export async function publishRecord(layout: Layout, config: BotsyncConfig, addresses: string[]): Promise<boolean> {
  const record: MeshRecord = {
    deviceId: config.deviceId,
    name: config.name,
    role: config.role,
    addresses,
    peers: config.peers.map((peer) => ({ deviceId: peer.deviceId, name: peer.name, role: peer.role, addresses: peer.addresses.filter((a) => a !== 'dynamic') })),
  };
  const path = join(meshDir(layout), `${config.deviceId}.json`);
  const text = `${JSON.stringify(record, null, 2)}\n`;
  if ((await readText(path)) === text) return false;
  // Written beside it and renamed: Syncthing must never scan half a record. The .stignore keeps *.tmp out.
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return true;
}

/** Syncthing ignores the temporary files of publishRecord. */
export async function writeMeshIgnores(layout: Layout): Promise<void> {
  await writeFile(join(meshDir(layout), '.stignore'), '*.tmp\n', { mode: 0o600 });
}

/**
 * Machines listed by trusted peers' authentic records that this machine does not know yet. A record
 * is authentic when it is about a peer in config.json and Syncthing's global version of it was made by
 * that peer.
 */
export async function vouchedMachines(layout: Layout, config: BotsyncConfig, client: SyncthingClient): Promise<MachineDetails[]> {
  const trusted = new Set(config.peers.map((peer) => peer.deviceId));
  const known = new Set([config.deviceId, ...trusted]);
  const found = new Map<string, MachineDetails>();
  for (const file of await recordFiles(layout)) {
    const author = file.slice(0, -'.json'.length);
    if (!trusted.has(author)) continue;
    const info = await client.fileInfo(MESH_FOLDER_ID, file);
    if (info.global.deleted || info.global.modifiedBy !== shortDeviceId(author)) continue;
    const record = await readRecord(join(meshDir(layout), file));
    if (record === undefined || record.deviceId !== author) continue;
    for (const machine of record.peers) {
      if (!known.has(machine.deviceId)) found.set(machine.deviceId, machine);
    }
  }
  return [...found.values()];
}

async function recordFiles(layout: Layout): Promise<string[]> {
  try {
    return (await readdir(meshDir(layout))).filter((name) => /^[A-Z2-7-]{63}\.json$/.test(name));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** A record that does not parse is skipped: it may be mid-sync, and the next change brings it whole. */
async function readRecord(path: string): Promise<MeshRecord | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { peers?: unknown };
    const self = decodeMachineDetails(new TextEncoder().encode(text));
    const peers = Array.isArray(value.peers) ? value.peers.map((peer) => decodeMachineDetails(new TextEncoder().encode(JSON.stringify(peer)))) : [];
    return { ...self, peers };
  } catch {
    return undefined;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}
