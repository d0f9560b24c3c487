import { describe, expect, it } from 'vitest';
import { MAILBOX_TTL_MS, NAMEPLATE_PATTERN, NAMEPLATE_WORDS, type FetchResponse, type PostResponse, type RelayMessage } from '../../relay/wire.js';
import { blob, call, claim, errorOf, open, randomIp, sha256Hex, sleep, stored } from './helpers.js';

const messagesPath = (nameplate: string, after: number, wait = 0) => `/v1/mailboxes/${nameplate}/messages?after=${after}&wait=${wait}`;

describe('a pairing exchange through the relay', () => {
  it('opens, claims, carries messages both ways (with a long poll woken by a post) and closes', async () => {
    const first = blob(32);
    const before = Date.now();
    const host = await open(first);
    expect(host.nameplate).toMatch(NAMEPLATE_PATTERN);
    for (const index of host.nameplate.split('-').map(Number)) expect(index).toBeLessThan(NAMEPLATE_WORDS);
    expect(host.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expiresAt = Date.parse(host.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + MAILBOX_TTL_MS - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + MAILBOX_TTL_MS + 1000);

    // The host's first long poll finds nothing yet and says the mailbox is still open.
    const idle = await call<FetchResponse>('GET', messagesPath(host.nameplate, 0, 0.2), { token: host.token });
    expect(idle.status).toBe(200);
    expect(idle.body).toEqual({ messages: [], state: 'open' });

    const guest = await claim(host.nameplate);
    expect(guest.token).not.toBe(host.token);
    expect(guest.expiresAt).toBe(host.expiresAt);
    expect(guest.messages).toEqual([{ seq: 1, side: 'host', body: first }]);

    // Guest -> host, picked up by a host poll that is already waiting when the post arrives.
    const guestReply = blob(600);
    let hostPollDone = false;
    const hostPoll = call<FetchResponse>('GET', messagesPath(host.nameplate, 1, 10), { token: host.token }).finally(() => {
      hostPollDone = true;
    });
    await sleep(300);
    expect(hostPollDone).toBe(false);
    const postedAt = Date.now();
    const posted = await call<PostResponse>('POST', `/v1/mailboxes/${host.nameplate}/messages`, { token: guest.token, body: { body: guestReply } });
    expect(posted.status).toBe(200);
    expect(posted.body).toEqual({ seq: 2 });
    const woken = await hostPoll;
    expect(Date.now() - postedAt).toBeLessThan(3000);
    expect(woken.status).toBe(200);
    expect(woken.body).toEqual({ messages: [{ seq: 2, side: 'guest', body: guestReply }], state: 'claimed' });

    // Host -> guest, the same way round.
    const hostConfirm = blob(48);
    let guestPollDone = false;
    const guestPoll = call<FetchResponse>('GET', messagesPath(host.nameplate, 1, 10), { token: guest.token }).finally(() => {
      guestPollDone = true;
    });
    await sleep(300);
    expect(guestPollDone).toBe(false);
    const hostPosted = await call<PostResponse>('POST', `/v1/mailboxes/${host.nameplate}/messages`, { token: host.token, body: { body: hostConfirm } });
    expect(hostPosted.body).toEqual({ seq: 3 });
    expect((await guestPoll).body).toEqual({ messages: [{ seq: 3, side: 'host', body: hostConfirm }], state: 'claimed' });

    // A fetch returns only the other side's messages after `after`, oldest first.
    const guestAll = await call<FetchResponse>('GET', messagesPath(host.nameplate, 0), { token: guest.token });
    expect(guestAll.body.messages.map((m: RelayMessage) => m.seq)).toEqual([1, 3]);
    const hostAll = await call<FetchResponse>('GET', messagesPath(host.nameplate, 0), { token: host.token });
    expect(hostAll.body.messages).toEqual([{ seq: 2, side: 'guest', body: guestReply }]);

    const closed = await call('DELETE', `/v1/mailboxes/${host.nameplate}`, { token: guest.token, body: { reason: 'done' } });
    expect(closed.status).toBe(200);
    expect(closed.body).toEqual({ closed: true });
    const after = await call('GET', messagesPath(host.nameplate, 0), { token: host.token });
    expect(after.status).toBe(410);
    expect(errorOf(after)).toMatchObject({ code: 'closed', reason: 'done' });
  });

  it('stores only state, times, token hashes, opaque bodies and its lease during the exchange, never a raw token or an address', async () => {
    const bodies = { host: [blob(32), blob(200)], guest: [blob(32), blob(32), blob(1500)] };
    const hostIp = randomIp();
    const host = await open(bodies.host[0], { ip: hostIp });
    const guest = await claim(host.nameplate);
    const post = (token: string, body: string) => call('POST', `/v1/mailboxes/${host.nameplate}/messages`, { token, body: { body } });
    for (const body of bodies.guest) expect((await post(guest.token, body)).status).toBe(200);
    expect((await post(host.token, bodies.host[1]!)).status).toBe(200);

    const { entries, alarm } = await stored(host.nameplate);
    expect(Object.keys(entries).sort()).toEqual(['hash:guest', 'hash:host', 'lease', 'meta', 'msg:0001', 'msg:0002', 'msg:0003', 'msg:0004', 'msg:0005']);
    // The lease: a random id and the limiter objects holding it (Durable Object ids, 64 hex digits).
    const lease = entries.lease as { id: string; holders: string[] };
    expect(Object.keys(lease).sort()).toEqual(['holders', 'id']);
    expect(lease.holders).toHaveLength(2);
    for (const holder of lease.holders) expect(holder).toMatch(/^[0-9a-f]{64}$/);
    expect(entries['hash:host']).toBe(await sha256Hex(host.token));
    expect(entries['hash:guest']).toBe(await sha256Hex(guest.token));
    const meta = entries.meta as Record<string, unknown>;
    expect(Object.keys(meta).sort()).toEqual(['createdAt', 'expiresAt', 'state']);
    expect(meta).toMatchObject({ state: 'claimed', expiresAt: Date.parse(host.expiresAt) });
    expect(alarm).toBe(Date.parse(host.expiresAt));

    const messages = Object.entries(entries).filter(([key]) => key.startsWith('msg:')).map(([, value]) => value as RelayMessage);
    for (const message of messages) expect(Object.keys(message).sort()).toEqual(['body', 'seq', 'side']);
    expect(messages.filter((m) => m.side === 'host').map((m) => m.body)).toEqual(bodies.host);
    expect(messages.filter((m) => m.side === 'guest').map((m) => m.body)).toEqual(bodies.guest);

    const everything = JSON.stringify(entries);
    expect(everything).not.toContain(host.token);
    expect(everything).not.toContain(guest.token);
    expect(everything).not.toContain(hostIp);
  });
});
