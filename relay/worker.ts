/**
 * The botsync pairing relay, a Cloudflare Worker. It carries the one-time pairing exchange between two
 * machines; it never sees a secret word or a device ID in the clear. Every answer is JSON, and every
 * error has a stable code that the client matches on.
 */
import { RELAY_PROTOCOL_VERSION, type RelayErrorBody, type RelayErrorCode, type RelayHealth } from './wire.js';

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/health' && request.method === 'GET') {
      return json<RelayHealth>({ ok: true, service: 'botsync-relay', protocol: RELAY_PROTOCOL_VERSION });
    }
    return error(404, 'not_found', `No route for ${request.method} ${url.pathname}.`);
  },
} satisfies ExportedHandler;

function json<T>(body: T, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });
}

function error(status: number, code: RelayErrorCode, message: string): Response {
  return json<RelayErrorBody>({ error: { code, message } }, status);
}
