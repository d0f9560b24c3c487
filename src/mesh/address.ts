import { BotsyncError, isBotsyncError } from '../errors.js';
import { parseDeviceId } from '../syncthing/device-id.js';

/**
 * Peer addresses in the forms Syncthing dials: `tcp://HOST:PORT` and `quic://HOST:PORT` (also their
 * 4/6 variants), `relay://HOST:PORT/?id=RELAY-DEVICE-ID` (a relay the peer is reachable through), and
 * `dynamic` (ask discovery).
 */

const DIRECT = new Set(['tcp:', 'tcp4:', 'tcp6:', 'quic:', 'quic4:', 'quic6:']);
const MAX_ADDRESS_LENGTH = 512;

export type AddressKind = 'direct' | 'relay' | 'dynamic';

const HINT = 'Use tcp://HOST:PORT (for example tcp://192.0.2.10:22000), quic://HOST:PORT, relay://HOST:PORT/?id=RELAY-ID, or dynamic.';

/** The normalised address; a bad one is refused as bad input (exit 2). */
export function parseAddress(input: string): string {
  const parsed = readAddress(input);
  if (parsed === undefined || parsed === 'unknown') {
    throw new BotsyncError('BAD_INPUT', `"${input}" is not a peer address.`, { hint: HINT });
  }
  return parsed.address;
}

/**
 * Reads an address another machine sent. Its own address types that this botsync does not know (a
 * newer Syncthing's, say) are `unknown`, to be skipped; a known type that does not parse, or text
 * that is no address at all, is `undefined`: the sender is broken.
 */
export function readAddress(input: string): { kind: AddressKind; address: string } | 'unknown' | undefined {
  if (input === 'dynamic') return { kind: 'dynamic', address: input };
  if (input.length > MAX_ADDRESS_LENGTH || !URL.canParse(input)) return undefined;
  const url = new URL(input);
  const endpoint = url.hostname !== '' && url.port !== '';
  if (DIRECT.has(url.protocol)) {
    return endpoint && url.pathname === '' && url.search === '' ? { kind: 'direct', address: `${url.protocol}//${url.host}` } : undefined;
  }
  if (url.protocol === 'relay:') return endpoint ? relayAddress(url) : undefined;
  return /^[a-z][a-z0-9+.-]*:\/\/\S+$/.test(input) ? 'unknown' : undefined;
}

function relayAddress(url: URL): { kind: 'relay'; address: string } | undefined {
  if (url.pathname !== '' && url.pathname !== '/') return undefined;
  let id: string;
  try {
    id = parseDeviceId(url.searchParams.get('id') ?? '');
  } catch (error) {
    // Without the relay's own ID Syncthing cannot authenticate the relay, so the address is useless.
    if (isBotsyncError(error, 'BAD_DEVICE_ID')) return undefined;
    throw error;
  }
  // Only the relay's identity is kept: Syncthing's listener adds its own settings (ping interval,
  // limits), which mean nothing to a peer dialling through the relay.
  return { kind: 'relay', address: `relay://${url.host}/?id=${id}` };
}

export function addressKind(address: string): AddressKind {
  if (address === 'dynamic') return 'dynamic';
  return address.startsWith('relay://') ? 'relay' : 'direct';
}

/** Whether a listener address of Syncthing's is a relay (a relay server, or a pool to pick one from). */
export function isRelayListener(address: string): boolean {
  return address.startsWith('relay://') || address.startsWith('dynamic+');
}

/** An address without its parameters (a relay's ID and settings), as people read it. */
export function endpointOf(address: string): string {
  return address.replace(/\/?\?.*$/, '').replace(/\/$/, '');
}
