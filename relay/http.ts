/** Reading requests and writing JSON answers, with the limits the wire contract sets. */
import { failure, success, type Outcome, type RelayFailure } from './outcome.js';
import { MAX_REQUEST_BYTES, RELAY_ERROR_STATUS, type RelayErrorBody } from './wire.js';

// Every answer is per-request state (tokens, messages); no cache in between may keep or replay it.
const BASE_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function json<T>(body: T, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...BASE_HEADERS, ...headers } });
}

export function errorResponse(fail: RelayFailure, headers: Record<string, string> = {}): Response {
  const error: RelayErrorBody['error'] = { code: fail.code, message: fail.message };
  if (fail.reason !== undefined) error.reason = fail.reason;
  if (fail.retryAfter !== undefined) {
    error.retryAfter = fail.retryAfter;
    headers = { ...headers, 'retry-after': String(fail.retryAfter) };
  }
  return json<RelayErrorBody>({ error }, RELAY_ERROR_STATUS[fail.code], headers);
}

/**
 * The JSON body, read at most MAX_REQUEST_BYTES deep. Content-Length is only a shortcut: a client may
 * omit it or lie (chunked uploads), so the limit is enforced on the bytes actually read.
 */
export async function readJson(request: Request): Promise<Outcome<unknown>> {
  const tooLarge = failure('too_large', `The request body is larger than ${MAX_REQUEST_BYTES} bytes.`);
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > MAX_REQUEST_BYTES) return tooLarge;
  if (request.body === null) return failure('bad_request', 'The request needs a JSON body.');

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_REQUEST_BYTES) {
      await reader.cancel().catch(() => {});
      return tooLarge;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return success(JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)));
  } catch {
    return failure('bad_request', 'The request body is not valid UTF-8 JSON.');
  }
}

/** The token from `Authorization: Bearer <token>`, or null; the mailbox decides what a missing one means. */
export function bearerToken(request: Request): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
  return match ? match[1]! : null;
}
