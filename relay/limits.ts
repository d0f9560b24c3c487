/**
 * The relay's limits, read from wrangler.toml's [vars] so that a self-hoster (or a test) can set them.
 * Per client means per clientKey: an IPv4 address or an IPv6 /64. "0" turns a limit off. No imports, so
 * the Node side (test relays started by wrangler dev) can use the var names too.
 */

export interface RelayLimits {
  /** Requests of any kind, on any route, one client may make per minute. */
  requestsPerMinute: number;
  /** Opens plus claims one client may make per minute: claims are where codes would be guessed, opens where nameplates would be used up. */
  attemptsPerMinute: number;
  /** Mailboxes one client may have open (neither closed nor expired) at once. */
  mailboxesPerClient: number;
  /** Mailboxes open at once on the whole relay. */
  mailboxesTotal: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  requestsPerMinute: 300,
  attemptsPerMinute: 60,
  mailboxesPerClient: 10,
  mailboxesTotal: 10_000,
};

/** The [vars] name of each limit. */
export const LIMIT_VARS = {
  requestsPerMinute: 'REQUEST_LIMIT_PER_MINUTE',
  attemptsPerMinute: 'RATE_LIMIT_PER_MINUTE',
  mailboxesPerClient: 'LIVE_MAILBOXES_PER_CLIENT',
  mailboxesTotal: 'LIVE_MAILBOXES_TOTAL',
} as const satisfies Record<keyof RelayLimits, string>;

export type LimitVars = { [K in keyof RelayLimits as (typeof LIMIT_VARS)[K]]?: string };

/**
 * The vars that turn off every per-client limit, for a relay whose clients all reach it from one
 * address (wrangler dev on a test machine: every local client is 127.0.0.1).
 */
export const NO_CLIENT_LIMITS: Record<string, string> = {
  [LIMIT_VARS.requestsPerMinute]: '0',
  [LIMIT_VARS.attemptsPerMinute]: '0',
  [LIMIT_VARS.mailboxesPerClient]: '0',
};

export function relayLimits(env: LimitVars): RelayLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_VARS) as (keyof RelayLimits)[]) {
    const raw = env[LIMIT_VARS[key]]?.trim();
    // A typo in the deployment should not switch a limit off, so anything unreadable means the default.
    if (raw !== undefined && /^\d{1,9}$/.test(raw)) limits[key] = Number(raw);
  }
  return limits;
}
