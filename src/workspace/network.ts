import { BotsyncError, isBotsyncError } from '../errors.js';
import { parseDeviceId } from '../syncthing/device-id.js';

/**
 * Self-hosted discovery and relay servers, as users give them (`--discovery`, `--relays`,
 * `config set network.*`): a comma-separated list of URLs, or `default` for Syncthing's public ones
 * (stored as absent).
 */

export const DEFAULT_SERVERS = 'default';

/** `https://HOST[:PORT]/[?id=DEVICE-ID]`: Syncthing's global discovery protocol is HTTPS only. */
export function parseDiscovery(value: string): string[] | undefined {
  return parseList(value, 'discovery server', 'https://HOST:PORT/?id=DEVICE-ID (a stdiscosrv), or default', (url) => {
    if (url.protocol !== 'https:') return false;
    const id = url.searchParams.get('id');
    return id === null || validId(id);
  });
}

/** `relay://HOST:PORT/?id=DEVICE-ID` (a strelaysrv) or `dynamic+https://POOL/endpoint` (a relay pool). */
export function parseRelays(value: string): string[] | undefined {
  return parseList(value, 'relay', 'relay://HOST:PORT/?id=DEVICE-ID (a strelaysrv), dynamic+https://POOL/endpoint, or default', (url) => {
    if (url.protocol === 'dynamic+https:' || url.protocol === 'dynamic+http:') return url.hostname !== '';
    return url.protocol === 'relay:' && url.hostname !== '' && url.port !== '' && validId(url.searchParams.get('id') ?? '');
  });
}

/** How a stored list reads back to a user. */
export function describeServers(list: string[] | undefined): string {
  return list === undefined ? DEFAULT_SERVERS : list.join(',');
}

function parseList(value: string, what: string, form: string, valid: (url: URL) => boolean): string[] | undefined {
  const text = value.trim();
  if (text === DEFAULT_SERVERS) return undefined;
  const urls = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const bad = urls.find((url) => !URL.canParse(url) || !valid(new URL(url)));
  if (urls.length === 0 || bad !== undefined) {
    throw new BotsyncError('BAD_INPUT', `"${bad ?? value}" is not a ${what} URL.`, { hint: `Use ${form}; separate several with commas.` });
  }
  return urls;
}

function validId(id: string): boolean {
  try {
    parseDeviceId(id);
    return true;
  } catch (error) {
    if (isBotsyncError(error, 'BAD_DEVICE_ID')) return false;
    throw error;
  }
}
