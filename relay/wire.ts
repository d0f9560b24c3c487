/**
 * The relay's wire contract: the only code the relay and the botsync client share. Plain types and
 * constants, no runtime dependencies on either side.
 *
 * The relay keeps one mailbox per nameplate for the one-time pairing exchange. It sees the nameplate,
 * timing, sizes and opaque message bodies (CPace messages, MACs, ciphertext), never a secret word or
 * a device ID in the clear.
 *
 *   GET    /health                                   -> RelayHealth
 *   POST   /v1/mailboxes                 OpenRequest  -> OpenResponse      (the host: init / invite)
 *   POST   /v1/mailboxes/:nameplate/claim            -> ClaimResponse     (the guest: join; exactly once)
 *   POST   /v1/mailboxes/:nameplate/messages  PostRequest -> PostResponse  (Authorization: Bearer <token>)
 *   GET    /v1/mailboxes/:nameplate/messages?after=SEQ&wait=SECONDS -> FetchResponse (long poll; Bearer)
 *   DELETE /v1/mailboxes/:nameplate      CloseRequest -> CloseResponse    (Bearer)
 *
 * Every error is a JSON RelayErrorBody with a stable code and the HTTP status in RELAY_ERROR_STATUS.
 * Every route is rate-limited per client (an IPv4 address or an IPv6 /64): rate_limited, with
 * Retry-After, like the caps on open mailboxes (too_many_mailboxes, relay_full) and on long polls
 * held by one mailbox (too_many_polls).
 */

export const RELAY_PROTOCOL_VERSION = 1;

/** A mailbox lives this long after it is opened, claimed or not. */
export const MAILBOX_TTL_MS = 10 * 60 * 1000;
/**
 * How long the relay still answers "expired" / "closed" for a nameplate; then it is free again. The
 * tombstone only has to tell the mailbox's two parties how it ended: both are long-polling, at most
 * MAX_WAIT_SECONDS apart, and a code is typed within its 10 minutes or not at all.
 */
export const TOMBSTONE_TTL_MS = 10 * 60 * 1000;
/** Largest message body, in characters of its base64url text. */
export const MAX_MESSAGE_CHARS = 4096;
/** Largest request body the relay reads, in bytes. */
export const MAX_REQUEST_BYTES = 8192;
/** Messages one side may post into one mailbox. */
export const MAX_MESSAGES_PER_SIDE = 8;
/** Longest long-poll wait a fetch may ask for, in seconds. */
export const MAX_WAIT_SECONDS = 30;
/** Long polls one mailbox holds at once (one per side); one more that would wait is refused with too_many_polls. */
export const MAX_CONCURRENT_POLLS = 2;

/** Two BIP39 word indices (0-2047) as "I-J"; the client turns them into the code's first two words. */
export type Nameplate = string;
export const NAMEPLATE_PATTERN = /^(\d{1,4})-(\d{1,4})$/;
export const NAMEPLATE_WORDS = 2048;

export type Side = 'host' | 'guest';
export type MailboxState = 'open' | 'claimed';
/** `malformed`: the code matched, but the other side's sealed details could not be read (an incompatible version). */
export type CloseReason = 'done' | 'wrong_code' | 'cancelled' | 'malformed';

export interface OpenRequest {
  /** The host's first message (base64url). */
  message: string;
}
export interface OpenResponse {
  nameplate: Nameplate;
  /** Authorises this side's later calls; the relay stores only its hash. */
  token: string;
  expiresAt: string;
}

export interface ClaimResponse {
  token: string;
  expiresAt: string;
  /** The host's messages so far, oldest first. */
  messages: RelayMessage[];
}

export interface PostRequest {
  /** base64url, at most MAX_MESSAGE_CHARS characters. */
  body: string;
}
export interface PostResponse {
  seq: number;
}

export interface RelayMessage {
  /** Position in the mailbox, from 1, over both sides. */
  seq: number;
  side: Side;
  body: string;
}
export interface FetchResponse {
  /** The other side's messages with seq > after (possibly none, when the wait ran out). */
  messages: RelayMessage[];
  state: MailboxState;
}

export interface CloseRequest {
  reason: CloseReason;
}
export interface CloseResponse {
  closed: true;
}

export interface RelayHealth {
  ok: true;
  service: 'botsync-relay';
  protocol: number;
}

export type RelayErrorCode =
  | 'not_found'
  | 'expired'
  | 'already_claimed'
  | 'closed'
  | 'unauthorized'
  | 'bad_request'
  | 'too_large'
  | 'too_many_messages'
  | 'rate_limited'
  | 'too_many_mailboxes'
  | 'relay_full'
  | 'too_many_polls'
  | 'nameplates_exhausted'
  | 'method_not_allowed'
  | 'internal';

export const RELAY_ERROR_STATUS: Record<RelayErrorCode, number> = {
  not_found: 404,
  expired: 410,
  already_claimed: 409,
  closed: 410,
  unauthorized: 401,
  bad_request: 400,
  too_large: 413,
  too_many_messages: 409,
  rate_limited: 429,
  too_many_mailboxes: 429,
  relay_full: 503,
  too_many_polls: 429,
  nameplates_exhausted: 503,
  method_not_allowed: 405,
  internal: 500,
};

export interface RelayErrorBody {
  error: {
    code: RelayErrorCode;
    message: string;
    /** With `closed`: why the mailbox was closed (a wrong code burns it). */
    reason?: CloseReason;
    /** With rate_limited, too_many_mailboxes, relay_full and too_many_polls: seconds until a retry can succeed (also in Retry-After). */
    retryAfter?: number;
  };
}
