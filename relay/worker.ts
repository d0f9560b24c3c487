/**
 * The botsync pairing relay, a Cloudflare Worker. It carries the one-time pairing exchange between two
 * machines; it never sees a secret word or a device ID in the clear. Every answer is JSON, and every
 * error has a stable code that the client matches on (see wire.ts for the routes).
 *
 * The worker first counts the request against its client's limits (every route, see rate-limiter.ts),
 * checks and bounds everything the client sends, then hands the call to the nameplate's Mailbox
 * object, which alone decides what the mailbox's state allows.
 */
import { clientKey } from './client-key.js';
import type { Env } from './env.js';
import { bearerToken, errorResponse, json, readJson } from './http.js';
import { relayLimits, type RelayLimits } from './limits.js';
import { failure, type Outcome } from './outcome.js';
import { holdLease, limiter, releaseLease, type Charge } from './rate-limiter.js';
import { randomNameplate } from './secrets.js';
import { canonicalNameplate, closeReason, fetchQuery, isObject, messageBody } from './validate.js';
import { RELAY_PROTOCOL_VERSION, type Nameplate, type OpenResponse, type RelayHealth } from './wire.js';

export { Mailbox } from './mailbox.js';
export { RateLimiter } from './rate-limiter.js';

/** Random draws before giving up on finding a free nameplate; a busy space should fail loudly, not spin. */
const NAMEPLATE_TRIES = 16;

const MAILBOX_ROUTE = /^\/v1\/mailboxes\/([^/]+)(\/claim|\/messages)?$/;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return await route(request, env);
    } catch (err) {
      // Only the error's name and message: a stack or request dump could carry a token.
      console.error('relay: internal error:', err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      return errorResponse(failure('internal', 'The relay failed to handle this request.'));
    }
  },
} satisfies ExportedHandler<Env>;

async function route(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  const method = request.method;
  const match = MAILBOX_ROUTE.exec(path);

  const limits = relayLimits(env);
  const client = clientKey(request.headers.get('cf-connecting-ip'));
  const isAttempt = method === 'POST' && (path === '/v1/mailboxes' || match?.[2] === '/claim');
  const braked = await brake(env, client, isAttempt ? 'attempt' : 'request', limits);
  if (braked) return braked;

  if (path === '/health') {
    return allowed(method, ['GET']) ?? json<RelayHealth>({ ok: true, service: 'botsync-relay', protocol: RELAY_PROTOCOL_VERSION });
  }
  if (path === '/v1/mailboxes') {
    return allowed(method, ['POST']) ?? (await openMailbox(request, env, client, limits));
  }
  if (match) {
    const rawNameplate = match[1]!;
    const tail = match[2];
    if (tail === '/claim') return allowed(method, ['POST']) ?? (await claimMailbox(env, rawNameplate));
    if (tail === '/messages') {
      const refused = allowed(method, ['GET', 'POST']);
      if (refused) return refused;
      return method === 'GET' ? await fetchMessages(request, env, rawNameplate, url) : await postMessage(request, env, rawNameplate);
    }
    return allowed(method, ['DELETE']) ?? (await closeMailbox(request, env, rawNameplate));
  }
  return errorResponse(failure('not_found', `No route for ${method} ${path}.`));
}

/** null when the method is one the path takes, else the 405 answer. */
function allowed(method: string, methods: string[]): Response | null {
  if (methods.includes(method)) return null;
  return errorResponse(failure('method_not_allowed', `This path takes ${methods.join(' or ')}, not ${method}.`), { allow: methods.join(', ') });
}

async function openMailbox(request: Request, env: Env, client: string, limits: RelayLimits): Promise<Response> {
  const body = await readJson(request);
  if (!body.ok) return errorResponse(body);
  if (!isObject(body.value)) return errorResponse(failure('bad_request', 'The body must be a JSON object {"message": ...}.'));
  const message = messageBody(body.value.message, 'message');
  if (!message.ok) return errorResponse(message);

  const lease = await holdLease(env, client, limits);
  if (!lease.ok) return errorResponse(lease);
  const held = lease.value;
  let opened = false;
  try {
    for (let attempt = 0; attempt < NAMEPLATE_TRIES; attempt++) {
      const nameplate = randomNameplate();
      const answer = await mailbox(env, nameplate).open(message.value, held);
      if (answer.ok) {
        opened = true;
        return json<OpenResponse>({ nameplate, token: answer.token, expiresAt: answer.expiresAt });
      }
    }
    return errorResponse(failure('nameplates_exhausted', 'No free nameplate was found; try again in a minute.'));
  } finally {
    // No mailbox holds the lease: give it back rather than let it count until it ends.
    if (!opened && held !== null) await releaseLease(env, held);
  }
}

async function claimMailbox(env: Env, rawNameplate: string): Promise<Response> {
  const nameplate = canonicalNameplate(rawNameplate);
  if (nameplate === null) return unknownNameplate();
  return answer(await mailbox(env, nameplate).claim());
}

async function postMessage(request: Request, env: Env, rawNameplate: string): Promise<Response> {
  const nameplate = canonicalNameplate(rawNameplate);
  if (nameplate === null) return unknownNameplate();
  const body = await readJson(request);
  if (!body.ok) return errorResponse(body);
  if (!isObject(body.value)) return errorResponse(failure('bad_request', 'The body must be a JSON object {"body": ...}.'));
  const message = messageBody(body.value.body, 'body');
  if (!message.ok) return errorResponse(message);
  return answer(await mailbox(env, nameplate).post(bearerToken(request), message.value));
}

async function fetchMessages(request: Request, env: Env, rawNameplate: string, url: URL): Promise<Response> {
  const nameplate = canonicalNameplate(rawNameplate);
  if (nameplate === null) return unknownNameplate();
  const query = fetchQuery(url);
  if (!query.ok) return errorResponse(query);
  return answer(await mailbox(env, nameplate).poll(bearerToken(request), query.value.after, query.value.waitMs));
}

async function closeMailbox(request: Request, env: Env, rawNameplate: string): Promise<Response> {
  const nameplate = canonicalNameplate(rawNameplate);
  if (nameplate === null) return unknownNameplate();
  const body = await readJson(request);
  if (!body.ok) return errorResponse(body);
  const reason = closeReason(isObject(body.value) ? body.value.reason : undefined);
  if (!reason.ok) return errorResponse(reason);
  return answer(await mailbox(env, nameplate).close(bearerToken(request), reason.value));
}

function mailbox(env: Env, nameplate: Nameplate) {
  return env.MAILBOX.get(env.MAILBOX.idFromName(nameplate));
}

function answer<T>(outcome: Outcome<T>): Response {
  return outcome.ok ? json<T>(outcome.value) : errorResponse(outcome);
}

function unknownNameplate(): Response {
  return errorResponse(failure('not_found', 'No mailbox has this nameplate; check the code.'));
}

/** null when the client may go on; the 429 answer when it has used up a window for now. */
async function brake(env: Env, client: string, charge: Charge, limits: RelayLimits): Promise<Response | null> {
  if (limits.requestsPerMinute === 0 && (charge === 'request' || limits.attemptsPerMinute === 0)) return null;
  const decision = await limiter(env, client).admit(charge, limits);
  if (decision.ok) return null;
  const what = decision.window === 'attempt' ? 'Too many mailboxes opened or claimed' : 'Too many requests';
  return errorResponse(failure('rate_limited', `${what} from this address (or IPv6 /64); retry in ${decision.retryAfter} s.`, { retryAfter: decision.retryAfter }));
}
