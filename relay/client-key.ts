/**
 * The key a client's limits count under: its IPv4 address, or the /64 of its IPv6 address.
 *
 * A /64 is what one subscriber gets (RFC 6177) and what SLAAC hands out addresses from, so a single
 * machine can use any of its 2^64 addresses; counting the exact IPv6 address would give it as many
 * buckets. Every spelling of one address (compressed or not, any case, IPv4-mapped, bracketed, with a
 * zone or a port) gives one key. Cloudflare always sends one canonical address, so anything that cannot
 * be read as one goes to a single shared bucket: no odd value can mint a fresh one.
 */

export const UNKNOWN_CLIENT = 'unknown';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED = /^\[([^\]]*)\](?::\d{1,5})?$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

/** "1.2.3.4", "2001:db8:0:1::/64", or UNKNOWN_CLIENT; `header` is CF-Connecting-IP. */
export function clientKey(header: string | null): string {
  const text = (header ?? '').trim().toLowerCase();
  const address = BRACKETED.exec(text)?.[1] ?? IPV4_WITH_PORT.exec(text)?.[1] ?? text;

  const octets = ipv4Octets(address);
  if (octets) return octets.join('.');

  // The zone (fe80::1%eth0) names the interface on the relay's side, not another client.
  const groups = ipv6Groups(address.replace(/%[^%]*$/, ''));
  if (!groups) return UNKNOWN_CLIENT;
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket: the same client as a.b.c.d.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

function ipv4Octets(text: string): number[] | null {
  const match = IPV4.exec(text);
  if (!match) return null;
  // Leading zeros are read as decimal: "010.1.1.1" and "10.1.1.1" are one client, never two.
  const octets = match.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** The eight 16-bit groups of an IPv6 address (RFC 4291 text forms), or null. */
function ipv6Groups(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const head = groupsOf(halves[0]!, !compressed);
  const tail = compressed ? groupsOf(halves[1]!, true) : [];
  if (!head || !tail) return null;
  if (!compressed) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : null;
}

/** The groups of one side of "::"; `last` when it ends the address, where a dotted IPv4 tail may stand. */
function groupsOf(part: string, last: boolean): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (const [i, piece] of pieces.entries()) {
    if (last && i === pieces.length - 1 && piece.includes('.')) {
      const octets = ipv4Octets(piece);
      if (!octets) return null;
      groups.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    } else if (HEXTET.test(piece)) {
      groups.push(parseInt(piece, 16));
    } else {
      return null;
    }
  }
  return groups;
}
