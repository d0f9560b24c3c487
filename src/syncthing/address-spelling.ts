/**
 * Syncthing 1.19 times its dials per device and per address as written: once it has dialled
 * `deviceID/address` it skips that pair until the dialer's redial interval has passed (a minute for
 * TCP, longer for relays), and a pause, a resume or a remove-and-add of the device leaves that timer
 * running (lib/connections/service.go, nextDialRegistry: its forced redial does not clear it). An address
 * written another way is another key, with no timer. Syncthing dials a URL address by its host and
 * port (and a relay's ID in the query) and ignores any other query parameter, so a parameter of
 * botsync's own gives an address a spelling never dialled before.
 */

const MARK = 'botsync-redial';
const URL_ADDRESS = /^[a-z][a-z0-9+.-]*:\/\//i;
const MARKED = new RegExp(`[?&]${MARK}=[^&#]*$`);

/** The address in a spelling of its own for this `nonce`; `dynamic`, which is no URL, has only one. */
export function respelled(address: string, nonce: string): string {
  if (!URL_ADDRESS.test(address)) return address;
  const plain = unspelled(address);
  return `${plain}${plain.includes('?') ? '&' : '?'}${MARK}=${nonce}`;
}

/** The address as botsync wrote it, whatever spelling a redial gave it. */
export function unspelled(address: string): string {
  return address.replace(MARKED, '');
}
