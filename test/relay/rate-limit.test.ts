import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../relay/worker.js';
import type { RelayErrorBody } from '../../relay/wire.js';
import { blob, randomIp } from './helpers.js';

/** Calls the worker with this test's own limit, as a deployment would set it in [vars]. */
async function send(limit: string, ip: string | null, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (ip !== null) headers['cf-connecting-ip'] = ip;
  const request = new Request(`http://relay.test${path}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return worker.fetch(request, { ...env, RATE_LIMIT_PER_MINUTE: limit });
}

const openFrom = (limit: string, ip: string | null) => send(limit, ip, '/v1/mailboxes', { message: blob(16) });

describe('per-IP rate limit on open and claim', () => {
  it('refuses the (limit+1)th open from one IP with 429, Retry-After and retryAfter; another IP is unaffected', async () => {
    const ip = randomIp();
    for (let i = 0; i < 3; i++) expect((await openFrom('3', ip)).status).toBe(200);

    const refused = await openFrom('3', ip);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const retryHeader = Number(refused.headers.get('retry-after'));
    const { error } = (await refused.json()) as RelayErrorBody;
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfter).toBe(retryHeader);
    expect(retryHeader).toBeGreaterThanOrEqual(1);
    expect(retryHeader).toBeLessThanOrEqual(60);

    expect((await openFrom('3', randomIp())).status).toBe(200);
  });

  it('counts claims against the same budget (even of unknown nameplates), but not posts or fetches', async () => {
    const ip = randomIp();
    const opened = (await (await openFrom('2', ip)).json()) as { nameplate: string; token: string };
    expect((await send('2', ip, `/v1/mailboxes/${opened.nameplate}/claim`)).status).toBe(200);
    const third = await send('2', ip, '/v1/mailboxes/7-7/claim');
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).not.toBeNull();

    const post = new Request(`http://relay.test/v1/mailboxes/${opened.nameplate}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opened.token}`, 'cf-connecting-ip': ip },
      body: JSON.stringify({ body: blob(8) }),
    });
    expect((await worker.fetch(post, { ...env, RATE_LIMIT_PER_MINUTE: '2' })).status).toBe(200);
  });

  it('puts clients without CF-Connecting-IP in one shared "unknown" bucket, and "0" turns the brake off', async () => {
    // Storage and objects are per test file, so the "unknown" bucket starts empty here.
    expect((await openFrom('1', null)).status).toBe(200);
    expect((await openFrom('1', null)).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await openFrom('0', null)).status).toBe(200);
  });
});
