import { request, type Dispatcher } from 'undici';
import {
  MAX_WAIT_SECONDS,
  type ClaimResponse,
  type CloseReason,
  type FetchResponse,
  type Nameplate,
  type OpenResponse,
  type PostResponse,
  type RelayErrorBody,
  type RelayHealth,
} from '../../relay/wire.js';
import { BotsyncError } from '../errors.js';
import { httpDispatcher } from '../lib/http-dispatcher.js';
import { transportFailure } from '../lib/transport-error.js';

const DIRECT_CODE_HINT = 'Pair without the relay: run `botsync init --offline` (or `botsync invite --offline`) on the other machine and `botsync join <direct code>` here.';

/**
 * Talks to the pairing relay. The relay's stable error codes become errors a user can act on: an
 * unknown, used or expired code; a code burned by a wrong guess; a relay that cannot be reached.
 */
export class RelayClient {
  private readonly dispatcher: Dispatcher;

  /** `env` says which proxy, if any, stands between this machine and the relay. */
  constructor(readonly url: string, env: NodeJS.ProcessEnv) {
    this.dispatcher = httpDispatcher(env);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  health(): Promise<RelayHealth> {
    return this.call('GET', '/health');
  }

  open(message: string): Promise<OpenResponse> {
    return this.call('POST', '/v1/mailboxes', { body: { message } });
  }

  claim(nameplate: Nameplate): Promise<ClaimResponse> {
    return this.call('POST', `/v1/mailboxes/${nameplate}/claim`);
  }

  post(nameplate: Nameplate, token: string, body: string): Promise<PostResponse> {
    return this.call('POST', `/v1/mailboxes/${nameplate}/messages`, { token, body: { body } });
  }

  /** Long-polls for the other side's messages after `after`; [] when the wait ran out. */
  fetch(nameplate: Nameplate, token: string, after: number, waitS = MAX_WAIT_SECONDS, signal?: AbortSignal): Promise<FetchResponse> {
    return this.call('GET', `/v1/mailboxes/${nameplate}/messages?after=${after}&wait=${waitS}`, { token, timeoutMs: (waitS + 15) * 1000, signal });
  }

  async closeMailbox(nameplate: Nameplate, token: string, reason: CloseReason): Promise<void> {
    await this.call('DELETE', `/v1/mailboxes/${nameplate}`, { token, body: { reason } });
  }

  private async call<T>(method: string, path: string, options: { token?: string; body?: unknown; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    let response;
    try {
      response = await request(this.url + path, {
        method: method as 'GET',
        dispatcher: this.dispatcher,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'botsync',
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: options.signal,
      });
    } catch (error) {
      // Not the error's name: undici names a proxy's refusal to tunnel an AbortError too.
      if (options.signal?.aborted) throw error;
      throw new BotsyncError('RELAY_UNREACHABLE', `The pairing relay ${this.url} cannot be reached (${transportFailure(error).detail}).`, {
        hint: DIRECT_CODE_HINT,
        cause: error,
      });
    }
    const text = await response.body.text();
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      throw new BotsyncError('RELAY_ERROR', `${this.url} answered ${response.statusCode} with something that is not a botsync relay's answer.`, {
        hint: `Check --relay / BOTSYNC_RELAY. ${DIRECT_CODE_HINT}`,
        cause: error,
      });
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return payload as T;
    throw relayError(response.statusCode, payload as RelayErrorBody, this.url);
  }
}

function usedCode(): BotsyncError {
  return new BotsyncError('PAIRING_USED', 'This code was already used (each code pairs one machine, once).', { hint: 'Make a new one with `botsync invite` on the other machine.' });
}

/** Errors reporting a mailbox the relay no longer keeps open: closing it again would only fail. */
const mailboxGone = new WeakSet<BotsyncError>();

export function isMailboxGone(error: unknown): boolean {
  return error instanceof BotsyncError && mailboxGone.has(error);
}

function relayError(status: number, body: RelayErrorBody, url: string): BotsyncError {
  const error = describeRelayError(status, body, url);
  if (['closed', 'expired', 'already_claimed', 'not_found'].includes(body?.error?.code ?? '')) mailboxGone.add(error);
  return error;
}

function describeRelayError(status: number, body: RelayErrorBody, url: string): BotsyncError {
  const error = body?.error;
  switch (error?.code) {
    case 'not_found':
      return new BotsyncError('BAD_CODE', 'No machine is waiting for this code: it may be mistyped, or it expired and was forgotten.', {
        hint: 'Check the first two words against the other machine, or make a new code there with `botsync invite`.',
      });
    case 'expired':
      return new BotsyncError('PAIRING_EXPIRED', 'This code has expired (codes live 10 minutes).', { hint: 'Make a new one with `botsync invite` on the other machine.' });
    case 'already_claimed':
      return usedCode();
    case 'closed':
      if (error.reason === 'wrong_code') {
        return new BotsyncError('PAIRING_WRONG_CODE', 'The code did not match on both machines, so the pairing was cancelled and the code burned.', {
          hint: 'Check the code and make a new one with `botsync invite` on the other machine.',
        });
      }
      if (error.reason === 'malformed') {
        return new BotsyncError('PAIRING_MALFORMED', "The code matched, but the other machine could not read this machine's pairing details, so nothing was added there.", {
          hint: 'Update botsync on both machines and pair again with a new code.',
        });
      }
      // A pairing that completed closes its mailbox: for anyone else, the code was used.
      return error.reason === 'done' ? usedCode() : new BotsyncError('PAIRING_FAILED', 'This code was cancelled on the other machine.', { hint: 'Make a new one with `botsync invite` there.' });
    case 'rate_limited':
      return new BotsyncError('RELAY_ERROR', `The relay is limiting requests from this address; try again in ${error.retryAfter ?? 60} s.`, { hint: DIRECT_CODE_HINT });
    case 'too_many_mailboxes':
      return new BotsyncError('RELAY_ERROR', `This address (or its IPv6 /64) has as many pairing codes waiting at the relay as it allows; one expires within ${error.retryAfter ?? 600} s.`, {
        hint: `Use or cancel a code that is waiting, or try again then. ${DIRECT_CODE_HINT}`,
      });
    case 'relay_full':
      return new BotsyncError('RELAY_ERROR', `The relay has as many pairing codes waiting as it allows; try again in ${error.retryAfter ?? 60} s.`, { hint: DIRECT_CODE_HINT });
    case 'too_many_polls':
      // Each machine waits with one request at a time, so a third means another process is using this code.
      return new BotsyncError(
        'RELAY_ERROR',
        `The relay is already holding two requests waiting on this pairing code (one per machine), so it refused another; try again in ${error.retryAfter ?? 30} s.`,
        { hint: 'Make sure only one botsync uses this code at a time.' },
      );
    default:
      return new BotsyncError('RELAY_ERROR', `The relay ${url} answered ${status}: ${error?.message ?? 'no details'}.`, { hint: DIRECT_CODE_HINT });
  }
}
