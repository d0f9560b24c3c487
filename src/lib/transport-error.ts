import { errnoCode } from '../errors.js';

/**
 * What became of an HTTP request that failed before any answer (undici's errors, Node's socket and DNS
 * errors), for each client to turn into its own words: the Syncthing REST client, the pairing relay
 * client, the webhook sender and the Syncthing download.
 */
export interface TransportFailure {
  /**
   * aborted: the caller's signal (undici names a proxy's refusal to tunnel an AbortError too, so a
   * caller with a signal asks the signal); unreachable: nothing answers there; timeout: no answer in
   * time; failed: anything else.
   */
  kind: 'aborted' | 'unreachable' | 'timeout' | 'failed';
  /** The error in words: its message, and its code when the message lacks it. */
  detail: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function transportFailure(error: unknown): TransportFailure {
  const code = errnoCode(error);
  const name = error instanceof Error ? error.name : undefined;
  const kind = name === 'AbortError' ? 'aborted' : name === 'TimeoutError' || TIMEOUT.has(code ?? '') ? 'timeout' : UNREACHABLE.has(code ?? '') ? 'unreachable' : 'failed';
  return { kind, detail: describe(error, code) };
}

function describe(error: unknown, code: string | undefined): string {
  // Happy-eyeballs failures arrive as an AggregateError with an empty message but a code.
  const message = error instanceof Error && error.message ? error.message : undefined;
  if (message && code && !message.includes(code)) return `${message} (${code})`;
  return message ?? code ?? String(error);
}
