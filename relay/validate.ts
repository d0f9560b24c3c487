/** Checks on what clients send, done in the worker so a Durable Object only ever sees well-formed input. */
import { failure, success, type Outcome } from './outcome.js';
import { MAX_MESSAGE_CHARS, MAX_WAIT_SECONDS, NAMEPLATE_PATTERN, NAMEPLATE_WORDS, type CloseReason, type Nameplate } from './wire.js';

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const CLOSE_REASONS: readonly CloseReason[] = ['done', 'wrong_code', 'cancelled', 'malformed'];

/**
 * The canonical form of a nameplate ("0042-7" -> "42-7"), so one mailbox has one name; null when it
 * cannot be one.
 */
export function canonicalNameplate(text: string): Nameplate | null {
  const match = NAMEPLATE_PATTERN.exec(text);
  if (!match) return null;
  const i = Number(match[1]);
  const j = Number(match[2]);
  return i < NAMEPLATE_WORDS && j < NAMEPLATE_WORDS ? `${i}-${j}` : null;
}

/** A message body: base64url without padding, non-empty, at most MAX_MESSAGE_CHARS characters. */
export function messageBody(value: unknown, field: string): Outcome<string> {
  if (typeof value !== 'string' || value.length === 0) return failure('bad_request', `"${field}" must be a non-empty base64url string.`);
  if (value.length > MAX_MESSAGE_CHARS) return failure('too_large', `"${field}" is longer than ${MAX_MESSAGE_CHARS} characters.`);
  // A length of 1 mod 4 cannot come from any byte string.
  if (!BASE64URL.test(value) || value.length % 4 === 1) return failure('bad_request', `"${field}" is not base64url (A-Z a-z 0-9 - _, no padding).`);
  return success(value);
}

export function closeReason(value: unknown): Outcome<CloseReason> {
  return typeof value === 'string' && (CLOSE_REASONS as readonly string[]).includes(value)
    ? success(value as CloseReason)
    : failure('bad_request', `"reason" must be one of ${CLOSE_REASONS.join(', ')}.`);
}

export interface FetchQuery {
  after: number;
  waitMs: number;
}

/** `after` defaults to 0 (everything); `wait` defaults to 0 (answer at once) and is capped, not refused, above the maximum. */
export function fetchQuery(url: URL): Outcome<FetchQuery> {
  const after = url.searchParams.get('after') ?? '0';
  const wait = url.searchParams.get('wait') ?? '0';
  if (!/^\d{1,9}$/.test(after)) return failure('bad_request', '"after" must be a non-negative integer.');
  if (!/^\d{1,9}(\.\d+)?$/.test(wait)) return failure('bad_request', '"wait" must be a non-negative number of seconds.');
  return success({ after: Number(after), waitMs: Math.round(Math.min(Number(wait), MAX_WAIT_SECONDS) * 1000) });
}

/** Request bodies must be JSON objects; arrays and scalars are refused here rather than half-read later. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
