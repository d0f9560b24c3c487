/**
 * What a Durable Object hands back to the worker over RPC: a value, or a relay error the worker turns
 * into a response. Errors travel as data, not exceptions, so a thrown exception always means a bug (500).
 */
import type { CloseReason, RelayErrorCode } from './wire.js';

export interface RelayFailure {
  ok: false;
  code: RelayErrorCode;
  message: string;
  reason?: CloseReason;
  retryAfter?: number;
}
export type Outcome<T> = { ok: true; value: T } | RelayFailure;

export function success<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function failure(code: RelayErrorCode, message: string, extra: { reason?: CloseReason; retryAfter?: number } = {}): RelayFailure {
  return { ok: false, code, message, ...extra };
}
