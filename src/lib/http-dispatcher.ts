/**
 * The dispatcher for botsync's HTTP to the outside world (the pairing relay, webhooks, the Syncthing
 * download), so that all of it honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY the same way. Syncthing's
 * REST API on 127.0.0.1 never goes through here: a proxy must not see its API key.
 *
 * undici's EnvHttpProxyAgent does the routing. What callers get, as of undici 7.30:
 * - the lowercase variable wins over the uppercase one; an https:// target with no HTTPS_PROXY uses
 *   HTTP_PROXY (undici's choice: curl would go direct);
 * - NO_PROXY entries match a host and its subdomains (`botsync.dev` and `.botsync.dev` both cover
 *   `relay.botsync.dev`), `host:port` only that port, and `*` alone every host; no IP ranges, and an
 *   IPv6 entry needs its brackets (`[::1]`);
 * - credentials in the proxy URL become a Basic Proxy-Authorization header.
 */
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { BotsyncError } from '../errors.js';

/** A relay, receiver or mirror that takes longer than this to accept a connection is not going to. */
const CONNECT_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 10_000;

export function httpDispatcher(env: NodeJS.ProcessEnv = process.env): Dispatcher {
  return new EnvHttpProxyAgent({
    // Always strings: for a value left undefined, undici would read process.env itself.
    httpProxy: proxyUrl(env, 'http_proxy', 'HTTP_PROXY'),
    httpsProxy: proxyUrl(env, 'https_proxy', 'HTTPS_PROXY'),
    noProxy: env.no_proxy || env.NO_PROXY || '',
    // undici would tunnel http:// targets with CONNECT; proxies commonly allow CONNECT to port 443
    // only, so they get the plain absolute-form request curl sends instead.
    proxyTunnel: false,
    connect: { timeout: CONNECT_TIMEOUT_MS },
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  });
}

/** The proxy a variable pair names, '' for none. An empty variable counts as unset, as in a shell. */
function proxyUrl(env: NodeJS.ProcessEnv, lower: string, upper: string): string {
  const name = env[lower] ? lower : upper;
  const value = env[name];
  if (!value) return '';
  // curl reads a bare HOST:PORT as an http:// proxy, and such values are common.
  const text = value.includes('://') ? value : `http://${value}`;
  const protocol = URL.canParse(text) ? new URL(text).protocol : undefined;
  if (protocol === 'http:' || protocol === 'https:') return text;
  // The value is not repeated: it may hold the proxy's password.
  throw new BotsyncError('BAD_INPUT', `${name} is not an http(s) proxy URL${protocol === undefined ? '' : ` (it is a ${protocol} URL)`}.`, {
    hint: `Set ${name} to http://HOST:PORT (with USER:PASSWORD@ before HOST if the proxy asks for them), or unset it.`,
  });
}
