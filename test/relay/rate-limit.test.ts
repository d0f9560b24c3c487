import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, LIMIT_VARS, relayLimits } from '../../relay/limits.js';
import type { OpenResponse } from '../../relay/wire.js';
import { blob, call, claim, errorOf, open, outcomes, randomIp, randomPrefix, type Answer } from './helpers.js';

/** An open from `ip` (null: without CF-Connecting-IP) under these [vars]. */
const openFrom = (ip: string | null, vars: Record<string, string>) => call<OpenResponse>('POST', '/v1/mailboxes', { ip, vars, body: { message: blob(16) } });

function expectRateLimited(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  const retryHeader = Number(answer.headers.get('retry-after'));
  expect(errorOf(answer).code).toBe('rate_limited');
  expect(errorOf(answer).retryAfter).toBe(retryHeader);
  expect(retryHeader).toBeGreaterThanOrEqual(1);
  expect(retryHeader).toBeLessThanOrEqual(60);
}

describe('per-client rate limits', () => {
  it('refuses the (limit+1)th open from one IP with 429, Retry-After and retryAfter; another IP is unaffected', async () => {
    const vars = { RATE_LIMIT_PER_MINUTE: '3' };
    const ip = randomIp();
    for (let i = 0; i < 3; i++) expect((await openFrom(ip, vars)).status).toBe(200);
    expectRateLimited(await openFrom(ip, vars));
    expect((await openFrom(randomIp(), vars)).status).toBe(200);
  });

  it('limits 200 opens from 200 addresses of one /64 exactly like 200 from one address; distinct /64s are not limited', async () => {
    // A brake of 10 opens a minute, and at most 3 mailboxes open at once: both bite early in 200 opens.
    const vars = { RATE_LIMIT_PER_MINUTE: '10', LIVE_MAILBOXES_PER_CLIENT: '3' };
    const run = async (count: number, ipFor: (i: number) => string) => {
      const answers: Answer[] = [];
      for (let i = 0; i < count; i++) answers.push(await openFrom(ipFor(i), vars));
      return outcomes(answers);
    };
    const expected = [...Array<string>(3).fill('200'), ...Array<string>(7).fill('429 too_many_mailboxes'), ...Array<string>(190).fill('429 rate_limited')];

    const one = randomPrefix();
    // 200 addresses of another /64, spelled every way a client or a proxy might.
    const net = randomPrefix();
    const spellings = [
      (i: number) => `${net}::${(i + 1).toString(16)}`,
      (i: number) => `${net.toUpperCase()}:${i.toString(16)}:0:0:1`,
      (i: number) => `[${net}:ffff:${i.toString(16)}:${i.toString(16)}:ffff]`,
      (i: number) => `${net}:${i.toString(16)}::1%eth0`,
    ];
    // One IPv4 address, plain and IPv4-mapped, is one client too.
    const [a, b] = crypto.getRandomValues(new Uint8Array(2));
    const v4 = `198.51.${a}.${b}`;
    // 30 /64s side by side in one /48: 30 clients, each within its limits (one client would have had 3 opens).
    // Not 200, only because each open that succeeds creates a mailbox, which is slow under the test pool.
    const site = randomPrefix().split(':').slice(0, 3).join(':');

    // Each run is sequential (its order is the point); the four clients are independent, so they run side by side.
    const [fromOne, fromOneNet, fromV4, fromSite] = await Promise.all([
      run(200, () => `${one}::1`),
      run(200, (i) => spellings[i % spellings.length]!(i)),
      run(200, (i) => [v4, `::ffff:${v4}`, `[::ffff:${v4}]:443`][i % 3]!),
      run(30, (i) => `${site}:${i.toString(16)}::1`),
    ]);
    expect(fromOne).toEqual(expected);
    expect(fromOneNet).toEqual(fromOne);
    expect(fromV4).toEqual(expected);
    expect(fromSite).toEqual(Array<string>(30).fill('200'));
  }, 60_000);

  it('counts every route against the request limit, and refuses every route past it', async () => {
    const vars = { REQUEST_LIMIT_PER_MINUTE: '8' };
    const ip = randomIp();
    // Mailboxes made from elsewhere, so that their calls from `ip` are the only ones it makes.
    const mine = await open();
    const theirs = await open();
    const guest = await claim(theirs.nameplate);
    const messages = `/v1/mailboxes/${theirs.nameplate}/messages`;
    const routes: [string, string, { token?: string; body?: unknown }, number][] = [
      ['GET', '/health', {}, 200],
      ['POST', '/v1/mailboxes', { body: { message: blob(16) } }, 200],
      ['POST', `/v1/mailboxes/${mine.nameplate}/claim`, {}, 200],
      ['POST', messages, { token: guest.token, body: { body: blob(16) } }, 200],
      ['GET', `${messages}?after=0&wait=0`, { token: guest.token }, 200],
      ['DELETE', `/v1/mailboxes/${theirs.nameplate}`, { token: guest.token, body: { reason: 'done' } }, 200],
      ['GET', '/no/such/route', {}, 404],
      ['PUT', '/v1/mailboxes', {}, 405],
    ];
    expect(routes).toHaveLength(8);
    for (const [method, path, options, status] of routes) expect((await call(method, path, { ...options, ip, vars })).status, `${method} ${path}`).toBe(status);
    for (const [method, path, options] of routes) expectRateLimited(await call(method, path, { ...options, ip, vars }));

    // Nobody else is held up, and the refused calls touched no mailbox: the host's token still works.
    expect((await call('GET', '/health', { vars })).status).toBe(200);
    expect((await call('GET', `/v1/mailboxes/${mine.nameplate}/messages?after=0`, { token: mine.token, vars })).status).toBe(200);
  });

  it('counts claims against the opens budget (even of unknown nameplates), but not posts or fetches', async () => {
    const vars = { RATE_LIMIT_PER_MINUTE: '2' };
    const ip = randomIp();
    const opened = (await openFrom(ip, vars)).body;
    expect((await call('POST', `/v1/mailboxes/${opened.nameplate}/claim`, { ip, vars })).status).toBe(200);
    const third = await call('POST', '/v1/mailboxes/7-7/claim', { ip, vars });
    expectRateLimited(third);
    expect(errorOf(third).message).toMatch(/opened or claimed/);

    for (let i = 0; i < 3; i++) {
      expect((await call('POST', `/v1/mailboxes/${opened.nameplate}/messages`, { ip, vars, token: opened.token, body: { body: blob(8) } })).status).toBe(200);
      expect((await call('GET', `/v1/mailboxes/${opened.nameplate}/messages?after=0`, { ip, vars, token: opened.token })).status).toBe(200);
    }
  });

  it('puts clients without a readable CF-Connecting-IP in one shared "unknown" bucket, and "0" turns the brake off', async () => {
    // Storage and objects are per test file, so the "unknown" bucket starts empty here.
    expect((await openFrom(null, { RATE_LIMIT_PER_MINUTE: '1' })).status).toBe(200);
    expectRateLimited(await openFrom('not an address', { RATE_LIMIT_PER_MINUTE: '1' }));
    for (let i = 0; i < 5; i++) expect((await openFrom(null, { RATE_LIMIT_PER_MINUTE: '0' })).status).toBe(200);
  });

  it('reads each limit from its var, and takes the default for a value it cannot read rather than switch the limit off', () => {
    expect(relayLimits({})).toEqual(DEFAULT_LIMITS);
    expect(relayLimits({ [LIMIT_VARS.requestsPerMinute]: ' 7 ', [LIMIT_VARS.mailboxesTotal]: '0' })).toEqual({ ...DEFAULT_LIMITS, requestsPerMinute: 7, mailboxesTotal: 0 });
    for (const typo of ['', 'sixty', '-1', '1e3', '6O']) expect(relayLimits({ [LIMIT_VARS.attemptsPerMinute]: typo })).toEqual(DEFAULT_LIMITS);
  });
});
