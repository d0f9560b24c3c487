import { BotsyncError } from '../errors.js';

/**
 * Which pairing relay to use, apart from the client that talks to it: a command that only hands the
 * URL to its daemon (`invite`) does without the HTTP stack.
 */

export const DEFAULT_RELAY = 'https://relay.botsync.dev';

/** The relay URL: --relay, then BOTSYNC_RELAY, then the one stored at init, then the public default. */
export function relayUrl(flag: string | undefined, env: NodeJS.ProcessEnv, stored: string | undefined): string {
  return parseRelayUrl(flag ?? (env.BOTSYNC_RELAY || undefined) ?? stored ?? DEFAULT_RELAY);
}

/** A pairing relay's URL as given (--relay, BOTSYNC_RELAY, `config set relay`): http(s) only, without trailing slashes. */
export function parseRelayUrl(url: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new BotsyncError('BAD_INPUT', `"${url}" is not a relay URL.`, { hint: 'Use an http(s) URL, e.g. --relay https://relay.botsync.dev.' });
  }
  return url.replace(/\/+$/, '');
}
