import { BotsyncError } from '../errors.js';

/**
 * A relay message body is base64url text; inside it, a pairing message is a version byte and a few
 * length-prefixed binary parts (CPace message, confirmation tag, sealed details). Binary parts keep
 * the sealed details from being base64-encoded twice inside the relay's 4 KiB message limit.
 */

const VERSION = 1;

export function packFrame(parts: Uint8Array[]): string {
  const length = 1 + parts.reduce((sum, part) => sum + 2 + part.length, 0);
  const frame = Buffer.alloc(length);
  frame[0] = VERSION;
  let offset = 1;
  for (const part of parts) {
    frame.writeUInt16BE(part.length, offset);
    frame.set(part, offset + 2);
    offset += 2 + part.length;
  }
  return frame.toString('base64url');
}

/** Exactly `count` parts, or PAIRING_TAMPERED: a frame of another shape did not come from botsync. */
export function unpackFrame(text: string, count: number): Uint8Array[] {
  const frame = Buffer.from(text, 'base64url');
  const malformed = () => new BotsyncError('PAIRING_TAMPERED', 'A pairing message arrived malformed: it was altered on the way, or did not come from botsync.', { hint: 'Start again with a new code; if it happens again, the relay may be hostile: pair with a direct code.' });
  if (frame.length < 1 || frame[0] !== VERSION) throw malformed();
  const parts: Uint8Array[] = [];
  let offset = 1;
  while (offset < frame.length) {
    if (offset + 2 > frame.length) throw malformed();
    const length = frame.readUInt16BE(offset);
    if (offset + 2 + length > frame.length) throw malformed();
    parts.push(new Uint8Array(frame.subarray(offset + 2, offset + 2 + length)));
    offset += 2 + length;
  }
  if (parts.length !== count) throw malformed();
  return parts;
}
