/**
 * `botsync pull` and `botsync push`: settle a folder whose machines disagree, one way or the other,
 * without a diff. Syncthing does the replacing, so every file replaced goes through the folder's
 * versioning on the machine where it is replaced (Syncthing archives what its puller overwrites or
 * deletes), and `botsync recover` brings it back.
 *
 * How each folder type settles:
 * - pull, receive-only (deliverables/ on a human, inbox/ on an agent): Syncthing's revert. The local
 *   changes (never sent: Syncthing does not announce them) are replaced by the peers' versions;
 *   files added here are removed.
 * - push, send-only (the same folders on the other side): Syncthing's override. Whatever a peer
 *   made the newest version is superseded by this machine's. A receive-only peer's own local edits
 *   were never sent, so they are not overridden here: that machine's `status` shows them and its
 *   `pull` drops them.
 * - push, shared/ (send-receive): Syncthing has no override for a send-receive folder, so the folder
 *   is made send-only for the moment of the override, then send-receive again. Every item that a peer
 *   changed after this machine's version becomes this machine's version once more (files that exist
 *   only on the peers are deleted there), and the peers pull it.
 * - pull, shared/: every local change in a send-receive folder is already this machine's newest
 *   version, announced to the peers as soon as they connect: there is no "unsent" local state to
 *   drop, and turning it back would mean forging older versions. Pull there scans and waits until
 *   this machine has everything its peers have, overriding nothing; an edit to take back is one
 *   `botsync recover PATH --at` away.
 * Pulling a send-only folder or pushing a receive-only one has no meaning and is refused.
 */
import { BotsyncError } from '../errors.js';
import { askDaemon } from '../ipc/client.js';
import { pollUntil } from '../lib/time/poll.js';
import type { SyncthingClient } from '../syncthing/client.js';
import type { FolderStatus } from '../syncthing/rest-types.js';
import { loadConfig, type BotsyncConfig } from '../workspace/config.js';
import type { Layout } from '../workspace/layout.js';
import type { FolderType, Role } from '../workspace/roles.js';
import { homeFolders, type HomeFolder } from './home-folders.js';

export type SettleDirection = 'pull' | 'push';

export interface SettleRequest {
  direction: SettleDirection;
  /** Folder ids, already checked by settleTargets. */
  folders: string[];
}

export interface SettledFolder {
  folder: string;
  type: FolderType;
  /** What Syncthing was asked: revert (receive-only pull), override (push), or nothing but a scan and a wait. */
  method: 'revert' | 'override' | 'wait';
  /** Items that differed before: local changes (revert), or items the peers had made newer (override, wait). */
  changed: number;
  /** Whether the folder matched in the end; false when peers are not connected to take or give the files. */
  inSync: boolean;
  /** Items still differing at the end. */
  left: number;
}

export interface SettleReport {
  direction: SettleDirection;
  folders: SettledFolder[];
}

/** How long a settle waits for the folder to match, per folder. */
export const SETTLE_WAIT_MS = 30_000;

/**
 * The folders to settle: the one named, checked against this machine's role, or every folder the
 * direction applies to here. BAD_INPUT (exit 2) for a folder that does not exist or cannot go that way.
 */
export function settleTargets(folders: readonly HomeFolder[], role: Role, direction: SettleDirection, folder?: string): string[] {
  const fits = (type: FolderType) => type === 'sendreceive' || type === (direction === 'pull' ? 'receiveonly' : 'sendonly');
  if (folder === undefined) return folders.filter((spec) => fits(spec.type)).map((spec) => spec.id);
  const id = folder.replace(/\/+$/, '');
  const spec = folders.find((candidate) => candidate.id === id);
  if (spec === undefined) {
    throw new BotsyncError('BAD_INPUT', `There is no folder ${JSON.stringify(folder)}.`, { hint: `The folders are ${folders.map((f) => `${f.id}/`).join(', ')}.` });
  }
  if (!fits(spec.type)) {
    throw new BotsyncError(
      'BAD_INPUT',
      direction === 'pull'
        ? `${id}/ only sends from this machine (${role}): its peers never change it here, so there is nothing to pull.`
        : `${id}/ only receives on this machine (${role}): its changes here are never sent, so they cannot be pushed.`,
      { hint: direction === 'pull' ? `\`botsync push ${id}\` makes the peers match this machine.` : `\`botsync pull ${id}\` drops the changes made here and takes the peers' versions.` },
    );
  }
  return [id];
}

/** `botsync pull|push [FOLDER]`: the folder is checked here (bad input is refused with or without a daemon), the work done by the daemon. */
export async function settle(layout: Layout, direction: SettleDirection, folder?: string): Promise<SettleReport> {
  const config = await loadConfig(layout);
  const folders = settleTargets(homeFolders(layout, config), config.role, direction, folder);
  // Per folder: a scan, then an override or revert and the wait for the peers, each bounded.
  return askDaemon(layout, 'folders.settle', { direction, folders }, folders.length * (2 * SETTLE_WAIT_MS + 60_000));
}

/** Settles each folder in turn (the daemon runs this: it owns the Syncthing it asks). */
export async function settleFolders(client: SyncthingClient, layout: Layout, config: BotsyncConfig, request: SettleRequest, waitMs = SETTLE_WAIT_MS): Promise<SettleReport> {
  const home = homeFolders(layout, config);
  const folders: SettledFolder[] = [];
  for (const id of request.folders) {
    // Checked again: the request may come from a CLI of another version.
    const [checked] = settleTargets(home, config.role, request.direction, id);
    const spec = home.find((candidate) => candidate.id === checked)!;
    folders.push(await settleOne(client, spec.id, spec.type, request.direction, waitMs));
  }
  return { direction: request.direction, folders };
}

async function settleOne(client: SyncthingClient, folder: string, type: FolderType, direction: SettleDirection, waitMs: number): Promise<SettledFolder> {
  // What changed on disk a moment ago is known to Syncthing only once scanned.
  await client.scan(folder);
  const before = await client.folderStatus(folder);
  if (direction === 'pull' && type === 'receiveonly') {
    const changed = localChanges(before);
    if (changed > 0) await client.revert(folder);
    return { folder, type, method: 'revert', changed, ...(await waitUntil(client, folder, waitMs, (status) => localChanges(status) + needed(status))) };
  }
  if (direction === 'pull') {
    return { folder, type, method: 'wait', changed: needed(before), ...(await waitUntil(client, folder, waitMs, needed)) };
  }
  const changed = needed(before);
  if (changed > 0) {
    if (type === 'sendonly') await client.override(folder);
    else await overrideSendReceive(client, folder, waitMs);
  }
  // Pushed is pushed once every connected peer has it too.
  return { folder, type, method: 'override', changed, ...(await waitUntil(client, folder, waitMs, async (status) => needed(status) + (await peersNeed(client, folder)))) };
}

/** What the connected peers sharing the folder still need of it. */
async function peersNeed(client: SyncthingClient, folder: string): Promise<number> {
  const [folders, { connections }] = await Promise.all([client.folders(), client.connections()]);
  const devices = folders.find((candidate) => candidate.id === folder)?.devices ?? [];
  const connected = devices.filter((device) => connections[device.deviceID]?.connected === true);
  const needs = await Promise.all(connected.map(async (device) => (await client.completion({ folder, device: device.deviceID })).needItems));
  return needs.reduce((sum, need) => sum + need, 0);
}

/**
 * The override of a send-receive folder: send-only for the moment. Syncthing restarts the folder on
 * the type change and an override sent before it runs as send-only does nothing, so it is repeated
 * until the folder needs nothing; the type is set back whatever happened. (An apply of config.json in
 * that moment sets the type back early: the override then does not take, and the push reports the
 * folder not in sync rather than claim it.)
 */
async function overrideSendReceive(client: SyncthingClient, folder: string, waitMs: number): Promise<void> {
  await client.patchFolder(folder, { type: 'sendonly' });
  try {
    await pollUntil(
      async () => {
        await client.override(folder);
        return needed(await client.folderStatus(folder)) === 0 ? true : undefined;
      },
      { everyMs: 250, timeoutMs: waitMs },
    );
  } finally {
    await client.patchFolder(folder, { type: 'sendreceive' });
  }
}

/** Polls until `left` of the folder's status is 0 while it is idle; says how it ended. */
async function waitUntil(client: SyncthingClient, folder: string, waitMs: number, left: (status: FolderStatus) => number | Promise<number>): Promise<{ inSync: boolean; left: number }> {
  let last = 0;
  const done = await pollUntil(
    async () => {
      const status = await client.folderStatus(folder);
      last = await left(status);
      return last === 0 && status.state === 'idle' ? true : undefined;
    },
    { everyMs: 200, timeoutMs: waitMs },
  );
  return { inSync: done === true, left: last };
}

function needed(status: FolderStatus): number {
  return status.needTotalItems ?? status.needFiles;
}

/** A receive-only folder's items changed here; 0 for other folders (Syncthing leaves the field 0). */
export function localChanges(status: FolderStatus): number {
  return status.receiveOnlyTotalItems ?? 0;
}
