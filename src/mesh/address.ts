import { BotsyncError } from '../errors.js';

/** Accepts tcp://, quic:// and dynamic, the address forms Syncthing dials. */
export function parseAddress(input: string): string {
  if (input === 'dynamic') return input;
  const url = URL.canParse(input) ? new URL(input) : undefined;
  const ok =
    url !== undefined &&
    (url.protocol === 'tcp:' || url.protocol === 'quic:') && url.hostname !== '' && url.port !== '' && url.pathname === '';
  if (!ok) {
    throw new BotsyncError('BAD_INPUT', `"${input}" is not a peer address.`, {
      hint: 'Use tcp://HOST:PORT (for example tcp://192.0.2.10:22000), or dynamic.',
    });
  }
  return `${url!.protocol}//${url!.host}`;
}
