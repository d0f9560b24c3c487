/**
 * The botsync pairing relay, a Cloudflare Worker. It carries the one-time pairing exchange between two
 * machines; it never sees a secret word or a device ID in the clear. Every answer is JSON, and every
 * error has a stable code that the client matches on (see wire.ts for the routes).
 *
 * The worker checks and bounds everything a client sends, then hands the call to the nameplate's
 * Mailbox object, which alone decides what the mailbox's state allows.
 */
import type { Env } from './env.js';
import { bearerToken, errorResponse, json, readJson } from './http.js';
import { failure, type Outcome } from './outcome.js';
import { randomNameplate } from './secrets.js';
import { canonicalNameplate, closeReason, fetchQuery, isObject, messageBody } from './validate.js';
import { RELAY_PROTOCOL_VERSION, type Nameplate, type OpenResponse, type RelayHealth } from './wire.js';

export { Mailbox } from './mailbox.js';
export { RateLimiter } from './rate-limiter.js';

/** Random draws before giving up on finding a free nameplate; a busy space should fail loudly, not spin. */
const NAMEPLATE_TRIES = 16;
const DEFAULT_RATE_LIMIT_PER_MINUTE = 60;

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

  if (path === '/health') {
    return allowed(method, ['GET']) ?? json<RelayHealth>({ ok: true, service: 'botsync-relay', protocol: RELAY_PROTOCOL_VERSION });
  }
  if (path === '/v1/mailboxes') {
    return allowed(method, ['POST']) ?? (await openMailbox(request, env));
  }
  const match = MAILBOX_ROUTE.exec(path);
  if (match) {
    const rawNameplate = match[1]!;
    const tail = match[2];
    if (tail === '/claim') return allowed(method, ['POST']) ?? (await claimMailbox(request, env, rawNameplate));
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

async function openMailbox(request: Request, env: Env): Promise<Response> {
  const braked = await rateLimit(request, env);
  if (braked) return braked;
  const body = await readJson(request);
  if (!body.ok) return errorResponse(body);
  if (!isObject(body.value)) return errorResponse(failure('bad_request', 'The body must be a JSON object {"message": ...}.'));
  const message = messageBody(body.value.message, 'message');
  if (!message.ok) return errorResponse(message);

  for (let attempt = 0; attempt < NAMEPLATE_TRIES; attempt++) {
    const nameplate = randomNameplate();
    const opened = await mailbox(env, nameplate).open(message.value);
    if (opened.ok) return json<OpenResponse>({ nameplate, token: opened.token, expiresAt: opened.expiresAt });
  }
  return errorResponse(failure('nameplates_exhausted', 'No free nameplate was found; try again in a minute.'));
}

async function claimMailbox(request: Request, env: Env, rawNameplate: string): Promise<Response> {
  const braked = await rateLimit(request, env);
  if (braked) return braked;
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

/** null when the client may go on; the 429 answer when its IP has used up its opens and claims for now. */
async function rateLimit(request: Request, env: Env): Promise<Response | null> {
  const limit = rateLimitPerMinute(env);
  if (limit === 0) return null;
  const ip = request.headers.get('cf-connecting-ip') ?? 'unknown';
  const decision = await env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(ip)).hit(limit);
  if (decision.ok) return null;
  return errorResponse(
    failure('rate_limited', `Too many mailboxes opened or claimed from this address; retry in ${decision.retryAfter} s.`, {
      retryAfter: decision.retryAfter,
    }),
  );
}

function rateLimitPerMinute(env: Env): number {
  const raw = env.RATE_LIMIT_PER_MINUTE;
  // A typo in the deployment should not switch the brake off, so anything unreadable means the default.
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return DEFAULT_RATE_LIMIT_PER_MINUTE;
  return Number(raw.trim());
}
