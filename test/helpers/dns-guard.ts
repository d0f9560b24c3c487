/**
 * Keeps `*.invalid` names (RFC 6761: guaranteed not to exist) off the network: a lookup of one fails
 * here with ENOTFOUND, as the resolver would answer, without asking the resolver. Tests name targets
 * `relay.botsync.invalid` so that only the test proxy can reach them; this makes "went direct" fail
 * the same way without a DNS query leaving the machine, and records each such lookup.
 *
 * The guard is a module in a data: URL, so that child processes (the CLI, the daemon) load the very
 * same code through NODE_OPTIONS.
 */
const SOURCE = `
import dns from 'node:dns';
const lookups = (globalThis[Symbol.for('botsync.test.invalidLookups')] ??= []);
const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  if (!/\\.invalid\\.?$/i.test(String(hostname))) return lookup.call(this, hostname, options, callback);
  lookups.push(hostname);
  const done = typeof options === 'function' ? options : callback;
  const error = Object.assign(new Error('getaddrinfo ENOTFOUND ' + hostname), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
  process.nextTick(done, error);
  return {};
};
`;

const GUARD_URL = `data:text/javascript,${encodeURIComponent(SOURCE)}`;

/** Guards this process; returns the `*.invalid` names it was asked to look up since (a live list). */
export async function guardInvalidLookups(): Promise<string[]> {
  await import(GUARD_URL);
  return (globalThis as Record<symbol, string[]>)[Symbol.for('botsync.test.invalidLookups')]!;
}

/** NODE_OPTIONS that load the guard into a child process too. */
export function guardedNodeOptions(existing = process.env.NODE_OPTIONS ?? ''): string {
  return `${existing} --import=${GUARD_URL}`.trim();
}
