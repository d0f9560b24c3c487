import { BotsyncError } from '../errors.js';
import { readAddress } from '../mesh/address.js';
import { hasHiddenCharacters } from '../notify/format.js';
import { parseDeviceId } from '../syncthing/device-id.js';
import { ROLES, type Role } from '../workspace/roles.js';

/** What each side tells the other, sealed, once the code is confirmed. */
export interface MachineDetails {
  deviceId: string;
  name: string;
  addresses: string[];
  role: Role;
}

/**
 * The host also names the folders it shares and the machines it already syncs with, and the folders
 * beyond the three it offers the guest: each with the label its Syncthing offer carries (folders/offers.ts
 * reads it), so the guest can say what awaits it before that offer arrives.
 */
export interface HostDetails extends MachineDetails {
  folders: string[];
  peers: MachineDetails[];
  offers: FolderOfferDetails[];
}

export interface FolderOfferDetails {
  id: string;
  label: string;
}

/** Larger lists are refused: the relay's message limit caps honest ones well below this. */
const MAX_LIST = 64;

export function encodeDetails(details: MachineDetails | HostDetails): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(details));
}

/**
 * Even authenticated details are checked field by field: they come from another machine and end up
 * in Syncthing's config, so only well-formed device IDs, names, roles and addresses get through.
 */
export function decodeMachineDetails(bytes: Uint8Array): MachineDetails {
  return machineDetails(parseJson(bytes));
}

export function decodeHostDetails(bytes: Uint8Array): HostDetails {
  const value = parseJson(bytes) as Record<string, unknown>;
  const base = machineDetails(value);
  const folders = list(value.folders).map((folder) => {
    if (typeof folder !== 'string' || !/^[\w.-]{1,64}$/.test(folder)) throw invalid('a folder ID');
    return folder;
  });
  // A host of a botsync before offers sends none.
  const offers = (value.offers === undefined ? [] : list(value.offers)).map((offer): FolderOfferDetails => {
    const record = (typeof offer === 'object' && offer !== null ? offer : {}) as Record<string, unknown>;
    if (typeof record.id !== 'string' || !/^[\w.-]{1,64}$/.test(record.id)) throw invalid('a folder ID');
    if (typeof record.label !== 'string' || record.label.length > 128 || hasHiddenCharacters(record.label)) throw invalid('a folder label');
    return { id: record.id, label: record.label };
  });
  return { ...base, folders, peers: list(value.peers).map(machineDetails), offers };
}

function machineDetails(value: unknown): MachineDetails {
  if (typeof value !== 'object' || value === null) throw invalid('the details');
  const record = value as Record<string, unknown>;
  let deviceId: string;
  try {
    deviceId = parseDeviceId(String(record.deviceId));
  } catch (error) {
    throw invalid('a device ID', error);
  }
  const addresses = addressesOf(list(record.addresses));
  const name = record.name;
  if (typeof name !== 'string' || !isMachineName(name)) throw invalid('a name');
  if (!ROLES.includes(record.role as Role)) throw invalid('a role');
  return { deviceId, name, addresses, role: record.role as Role };
}

/**
 * A name a machine may go by (`--name`, `config set name`, what pairing details and mesh records
 * carry): 1 to 64 characters, none of them a control character or one that hides or disguises text
 * (bidi controls, zero-width characters), which quote() would show escaped.
 */
export function isMachineName(name: string): boolean {
  return name.length > 0 && name.length <= 64 && !hasHiddenCharacters(name);
}

/**
 * Address types this botsync does not know are skipped, so a newer peer (or a newer Syncthing's
 * listener) never breaks a pairing; a known type that does not parse is malformed.
 */
function addressesOf(values: unknown[]): string[] {
  const addresses: string[] = [];
  for (const value of values) {
    const parsed = typeof value === 'string' ? readAddress(value) : undefined;
    if (parsed === undefined) throw invalid(`the address ${JSON.stringify(value).slice(0, 80)}`);
    if (parsed !== 'unknown' && !addresses.includes(parsed.address)) addresses.push(parsed.address);
  }
  return addresses;
}

/** Addresses worth telling a peer: those it can read back, without duplicates. */
export function shareableAddresses(candidates: readonly string[]): string[] {
  return addressesOf(candidates.filter((candidate) => {
    const parsed = readAddress(candidate);
    return parsed !== undefined && parsed !== 'unknown';
  }));
}

function list(value: unknown): unknown[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) throw invalid('a list');
  return value;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw invalid('the details', error);
  }
}

/**
 * The details authenticated, so they came from the machine that knows the code: a bad field is that
 * machine's bug or an incompatible version, never a wrong code.
 */
function invalid(what: string, cause?: unknown): BotsyncError {
  return new BotsyncError('PAIRING_MALFORMED', `The other machine sent pairing details this botsync cannot read (${what}); nothing was added.`, {
    hint: 'Update botsync on both machines and pair again with a new code.',
    cause,
  });
}
