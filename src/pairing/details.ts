import { BotsyncError } from '../errors.js';
import { parseAddress } from '../mesh/address.js';
import { parseDeviceId } from '../syncthing/device-id.js';
import { ROLES, type Role } from '../workspace/roles.js';

/** What each side tells the other, sealed, once the code is confirmed. */
export interface MachineDetails {
  deviceId: string;
  name: string;
  addresses: string[];
  role: Role;
}

/** The host also names the folders it shares and the machines it already syncs with. */
export interface HostDetails extends MachineDetails {
  folders: string[];
  peers: MachineDetails[];
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
  return { ...base, folders, peers: list(value.peers).map(machineDetails) };
}

function machineDetails(value: unknown): MachineDetails {
  if (typeof value !== 'object' || value === null) throw invalid('the details');
  const record = value as Record<string, unknown>;
  let deviceId: string;
  let addresses: string[];
  try {
    deviceId = parseDeviceId(String(record.deviceId));
    addresses = list(record.addresses).map((address) => parseAddress(String(address)));
  } catch (error) {
    throw invalid('a device ID or address', error);
  }
  const name = record.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 64 || /[\u0000-\u001f]/.test(name)) throw invalid('a name');
  if (!ROLES.includes(record.role as Role)) throw invalid('a role');
  return { deviceId, name, addresses, role: record.role as Role };
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

function invalid(what: string, cause?: unknown): BotsyncError {
  return new BotsyncError('PAIRING_TAMPERED', `The other machine sent invalid pairing details (${what}).`, {
    hint: 'Both machines must run a compatible botsync; update botsync on the other machine and try again.',
    cause,
  });
}
