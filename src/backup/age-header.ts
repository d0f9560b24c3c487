import { base64Decode, base64Encode, corrupt, equalBytes, hkdf, hmac } from './age-primitives.js';

/**
 * The age v1 header: a version line, one or more recipient stanzas, and a MAC line.
 *
 *   age-encryption.org/v1
 *   -> TYPE ARG...
 *   BASE64 BODY, WRAPPED AT 64 COLUMNS, LAST LINE SHORTER (POSSIBLY EMPTY)
 *   --- BASE64(HMAC-SHA256(HKDF(file key, "", "header"), everything up to and including "---"))
 *
 * Parsing is strict (one encoding per header), as the spec requires: the MAC covers the bytes as
 * written, so a lenient parser would accept headers no other implementation does.
 */

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The header bytes up to and including "---": what the MAC covers. */
  macInput: Buffer;
  mac: Buffer;
}

export const VERSION_LINE = 'age-encryption.org/v1';
const STANZA_PREFIX = '-> ';
const MAC_PREFIX = '---';
const BODY_COLUMNS = 64;
const MAC_BYTES = 32;
/** Far above any real header (about 100 bytes a recipient), and a bound on what a hostile input makes us buffer. */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** Arguments are non-empty runs of printable ASCII without spaces (VCHAR). */
const ARGUMENT = /^[\x21-\x7e]+$/;

function headerMacKey(fileKey: Uint8Array): Buffer {
  return hkdf(fileKey, Buffer.alloc(0), 'header');
}

function encodeStanza(stanza: Stanza): string {
  const body = base64Encode(stanza.body);
  const lines: string[] = [];
  // A body whose encoding fills its last line exactly gets an empty final line, so a reader always
  // knows where the body ends: at the first line shorter than 64 columns.
  for (let start = 0; start <= body.length; start += BODY_COLUMNS) lines.push(body.slice(start, start + BODY_COLUMNS));
  return `${STANZA_PREFIX}${[stanza.type, ...stanza.args].join(' ')}\n${lines.join('\n')}\n`;
}

export function encodeHeader(stanzas: readonly Stanza[], fileKey: Uint8Array): Buffer {
  const macInput = Buffer.from(`${VERSION_LINE}\n${stanzas.map(encodeStanza).join('')}${MAC_PREFIX}`, 'latin1');
  const mac = hmac(headerMacKey(fileKey), macInput);
  return Buffer.concat([macInput, Buffer.from(` ${base64Encode(mac)}\n`, 'latin1')]);
}

/** Throws unless the header's MAC is the one the file key gives: the only check that covers every stanza and argument. */
export function verifyHeaderMac(header: ParsedHeader, fileKey: Uint8Array): void {
  if (!equalBytes(hmac(headerMacKey(fileKey), header.macInput), header.mac)) {
    throw corrupt('The backup header does not authenticate (MAC mismatch).');
  }
}

/**
 * Where the header ends in a buffer that holds its start: the offset just past the MAC line's
 * newline, or undefined if the MAC line has not fully arrived. Lines before it are scanned once:
 * `scanFrom` is the start of the first unexamined line, updated in `cursor`. Only the MAC line can
 * start with "---" (stanza lines start "->", body lines are base64).
 */
export function findHeaderEnd(buffer: Buffer, cursor: { scanFrom: number }): number | undefined {
  for (;;) {
    const newline = buffer.indexOf(0x0a, cursor.scanFrom);
    if (newline < 0) return undefined;
    const isMacLine = buffer.toString('latin1', cursor.scanFrom, cursor.scanFrom + MAC_PREFIX.length) === MAC_PREFIX;
    cursor.scanFrom = newline + 1;
    if (isMacLine) return newline + 1;
  }
}

/** Parses a complete header (as delimited by findHeaderEnd); throws BACKUP_CORRUPT on any deviation. */
export function parseHeader(bytes: Buffer): ParsedHeader {
  // latin1 maps each byte to one char, so a non-ASCII byte survives as a char the patterns reject.
  const lines = bytes.toString('latin1').split('\n');
  if (lines.pop() !== '') throw corrupt('The backup header does not end with a newline.');
  if (lines[0] !== VERSION_LINE) throw corrupt('The backup header does not start with the age v1 version line.');
  const stanzas: Stanza[] = [];
  let index = 1;
  while (lines[index]?.startsWith(STANZA_PREFIX)) {
    const { stanza, next } = parseStanza(lines, index);
    stanzas.push(stanza);
    index = next;
  }
  if (stanzas.length === 0) throw corrupt('The backup header has no recipient stanzas.');
  if (index !== lines.length - 1) throw corrupt('The backup header has a malformed line.');
  const mac = parseMacLine(lines[index] as string);
  return { stanzas, macInput: bytes.subarray(0, bytes.length - (lines[index] as string).length - 1 + MAC_PREFIX.length), mac };
}

function parseStanza(lines: readonly string[], index: number): { stanza: Stanza; next: number } {
  const [type, ...args] = (lines[index] as string).slice(STANZA_PREFIX.length).split(' ');
  if (type === undefined || ![type, ...args].every((argument) => ARGUMENT.test(argument))) {
    throw corrupt('A backup header stanza has an empty or invalid argument.');
  }
  const bodyLines: string[] = [];
  let next = index + 1;
  for (;;) {
    const line = lines[next];
    if (line === undefined || line.length > BODY_COLUMNS) throw corrupt('A backup header stanza body is missing or malformed.');
    bodyLines.push(line);
    next += 1;
    if (line.length < BODY_COLUMNS) break;
  }
  const body = base64Decode(bodyLines.join(''));
  if (body === undefined) throw corrupt('A backup header stanza body is not canonical base64.');
  return { stanza: { type, args, body }, next };
}

function parseMacLine(line: string): Buffer {
  const prefix = `${MAC_PREFIX} `;
  const mac = line.startsWith(prefix) ? base64Decode(line.slice(prefix.length)) : undefined;
  if (mac === undefined || mac.length !== MAC_BYTES) throw corrupt('The backup header MAC line is malformed.');
  return mac;
}
