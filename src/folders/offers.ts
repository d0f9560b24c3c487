import type { PendingFolders } from '../syncthing/rest-types.js';
import { ADDED_FOLDER_TYPES, peerRef, type AddedFolder, type AddedFolderType, type BotsyncConfig, type PeerRef } from '../workspace/config.js';

/**
 * A folder added on one machine reaches its peers as Syncthing's own folder offer (the peer's
 * `/rest/cluster/pending/folders`, and a PendingFoldersChanged event), never accepted automatically:
 * devices never auto-accept folders (mesh/apply.ts). What the peer needs to accept it well, the way
 * it flows and its preset, travels in the folder's label, which Syncthing sends with the offer over
 * the devices' authenticated connection: `botsync folder (send, preset openclaw)`.
 *
 * The label is the offering peer's word, so it is data: read only in that exact form, its type and
 * preset taken only from the known ones, and anything else is an offer of unknown kind, which is
 * accepted receive-only (nothing of this machine leaves it) and with the defaults' rules. A preset only
 * names rules this machine knows itself (folders/presets.ts); no rule text comes from the label.
 */

const LABEL = /^botsync folder \((two-way|send|receive)(?:, preset ([a-z0-9-]{1,32}))?\)$/;

/** The label an added folder carries to its peers (and shows in Syncthing's GUI). */
export function offerLabel(folder: Pick<AddedFolder, 'type' | 'preset'>): string {
  return `botsync folder (${folder.type}${folder.preset === undefined ? '' : `, preset ${folder.preset}`})`;
}

/** The type and preset a label gives, as the offering machine has them; undefined for any other text. */
export function readOfferLabel(label: string): { type: AddedFolderType; preset?: string } | undefined {
  const match = LABEL.exec(label);
  if (match === null || !ADDED_FOLDER_TYPES.includes(match[1] as AddedFolderType)) return undefined;
  return { type: match[1] as AddedFolderType, ...(match[2] === undefined ? {} : { preset: match[2] }) };
}

/** How a folder flows on the accepting machine: what one side sends, the other receives. */
export function acceptedType(offered: AddedFolderType | undefined): AddedFolderType {
  if (offered === 'send' || offered === undefined) return 'receive';
  return offered === 'receive' ? 'send' : 'two-way';
}

/** A folder peers offer this machine, as it would be here once accepted. */
export interface FolderOffer {
  id: string;
  /** The peers offering it, oldest offer first. */
  from: (PeerRef & { label: string; time: string })[];
  /** The type it would have here (acceptedType of what the first offer says). */
  type: AddedFolderType;
  /** A preset this machine knows, as the first offer names it. */
  preset?: string;
}

/** A folder ID botsync adds or accepts: a name that is safe as a path segment (backups hold `folders/ID/`). */
export const FOLDER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The offers of Syncthing's pending list that come from peers, for folder IDs botsync could accept
 * (not botsync's own mesh folders, nor one of the three, nor IDs that cannot be a folder here), and
 * not shared with that peer already. `knownPreset` says which presets this machine has.
 */
export function offersFrom(pending: PendingFolders, config: BotsyncConfig, reserved: (id: string) => boolean, knownPreset: (name: string) => boolean): FolderOffer[] {
  const peers = new Set(config.peers.map((peer) => peer.deviceId));
  const offers: FolderOffer[] = [];
  for (const [id, entry] of Object.entries(pending)) {
    if (!FOLDER_ID.test(id) || reserved(id) || typeof entry?.offeredBy !== 'object' || entry.offeredBy === null) continue;
    const from = Object.entries(entry.offeredBy)
      .filter(([deviceId]) => peers.has(deviceId))
      .map(([deviceId, offer]) => ({ ...peerRef(config, deviceId), label: typeof offer?.label === 'string' ? offer.label : '', time: typeof offer?.time === 'string' ? offer.time : '' }))
      .sort((a, b) => a.time.localeCompare(b.time) || a.deviceId.localeCompare(b.deviceId));
    if (from.length === 0) continue;
    const said = readOfferLabel(from[0]!.label);
    const preset = said?.preset !== undefined && knownPreset(said.preset) ? said.preset : undefined;
    offers.push({ id, from, type: acceptedType(said?.type), ...(preset === undefined ? {} : { preset }) });
  }
  return offers.sort((a, b) => a.id.localeCompare(b.id));
}
