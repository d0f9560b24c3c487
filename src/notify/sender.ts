import { request, type Dispatcher } from 'undici';
import { BotsyncError } from '../errors.js';
import { transportFailure } from '../lib/transport-error.js';
import type { Notification, NotifyTarget } from './types.js';
import { redactSecrets } from '../lib/redact.js';

/**
 * One webhook call for one notification, classified so the delivery loop knows what to do next:
 * delivered (drop it), retry (keep it, wait), or rejected (keep it, wait for the user to fix the
 * target). Nothing here retries or sleeps; that is the loop's job.
 */

export type SendOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** status 0: no HTTP exchange happened (the target itself is unusable). */
  | { kind: 'rejected'; status: number; reason: string };

export interface SendOptions {
  /** From httpDispatcher(), made by the caller from its environment (its proxy settings); reused across calls. */
  dispatcher: Dispatcher;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** OpenClaw's hooks refuse bodies above 256 KiB (413) by default. */
export const MAX_BODY_BYTES = 256 * 1024;

/** OpenClaw holds a /hooks/agent request up to 15 s waiting for admission; a shorter timeout would retry calls that succeed. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Enough of an error body to say why, without filling a status line or a log. */
const REASON_EXCERPT_CHARS = 200;
const ERROR_BODY_READ_LIMIT = 4096;

/** The /hooks/agent body; agentId and sessionKey only when set (OpenClaw refuses a sessionKey it was not told to accept). */
export function hookBody(target: NotifyTarget, notification: Notification): Record<string, string> {
  const body: Record<string, string> = {
    message: notification.message,
    name: 'botsync',
    wakeMode: target.wakeMode ?? 'now',
    idempotencyKey: notification.id,
  };
  if (target.agentId) body.agentId = target.agentId;
  if (target.sessionKey) body.sessionKey = target.sessionKey;
  return body;
}

export async function sendNotification(target: NotifyTarget, notification: Notification, options: SendOptions): Promise<SendOutcome> {
  const body = JSON.stringify(hookBody(target, notification));
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_BODY_BYTES) {
    throw new BotsyncError('INTERNAL', `The notification ${notification.id} is ${bytes} bytes, over the webhook limit of ${MAX_BODY_BYTES} bytes.`, {
      hint: 'This is a bug in botsync: batches must be split before they reach the sender. Please report it.',
    });
  }

  const url = parseTargetUrl(target.url);
  if (url === undefined) {
    return { kind: 'rejected', status: 0, reason: 'the notification URL is not a valid http(s) URL (`botsync notify set --url URL`)' };
  }
  const where = describeUrl(url);
  // Every reason goes through this: a URL path or a receiver's answer may echo the token, which must
  // not reach a status line or a log through it.
  const scrub = (text: string) => redactSecrets(text, [target.token]);

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;

  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      dispatcher: options.dispatcher,
      method: 'POST',
      headers: {
        authorization: `Bearer ${target.token}`,
        'content-type': 'application/json',
        'idempotency-key': notification.id,
      },
      body,
      signal,
    });
  } catch (error) {
    if (options.signal?.aborted) return { kind: 'retry', reason: 'the request was cancelled' };
    if (timeout.aborted) return { kind: 'retry', reason: scrub(`no answer from ${where} within ${formatSeconds(timeoutMs)}`) };
    return { kind: 'retry', reason: scrub(`cannot reach ${where}: ${transportFailure(error).detail}`) };
  }

  const status = response.statusCode;
  if (status >= 200 && status < 300) {
    // The answer does not matter, but it must be read for the connection to be reused; if the
    // connection drops while it is read, the status line has already said "delivered".
    await response.body.dump().then(() => true, () => false);
    return { kind: 'delivered', status };
  }

  const excerpt = await readExcerpt(response.body, timeout);
  const detail = excerpt ? `HTTP ${status}: ${excerpt}` : `HTTP ${status}`;
  if (status === 408 || status === 429 || status >= 500) {
    const outcome: SendOutcome = { kind: 'retry', reason: scrub(`${where} answered ${detail}`) };
    const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
    if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
    return outcome;
  }
  if (status === 401 || status === 403) {
    return { kind: 'rejected', status, reason: scrub(`${where} refused the token (${detail}); set the right one with \`botsync notify set\``) };
  }
  if (status >= 300 && status < 400) {
    // Not followed: a redirect would carry the bearer token to wherever the Location points.
    return { kind: 'rejected', status, reason: scrub(`${where} redirected the request (${detail}); set the final URL with \`botsync notify set\``) };
  }
  return { kind: 'rejected', status, reason: scrub(`${where} rejected the notification (${detail})`) };
}

/**
 * Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Undefined when absent or
 * unreadable; a date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  // All three HTTP-date forms start with a day name; without that check Date.parse would read "-5" as a year.
  if (!/^[A-Za-z]{3}/.test(raw)) return undefined;
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function parseTargetUrl(text: string): URL | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}

/** Origin and path only: user info or a query string could carry a secret. */
function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** The receiver's own words (OpenClaw answers `{ ok: false, error }`), shortened and on one line. */
async function readExcerpt(body: Dispatcher.ResponseData['body'], timeout: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= ERROR_BODY_READ_LIMIT || timeout.aborted) break;
    }
  } catch (error) {
    // A body cut short still classifies by its status; say what was lost instead of failing the send.
    return `(the response body could not be read: ${transportFailure(error).detail})`;
  }
  const said = receiverWords(Buffer.concat(chunks).toString('utf8'));
  const oneLine = said.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return oneLine.length > REASON_EXCERPT_CHARS ? `${oneLine.slice(0, REASON_EXCERPT_CHARS)}…` : oneLine;
}

function receiverWords(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string') {
      return (parsed as { error: string }).error;
    }
  } catch (error) {
    // Plain-text answers (OpenClaw's early auth/method failures) are not JSON: use them as they are.
    if (!(error instanceof SyntaxError)) throw error;
  }
  return text;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
