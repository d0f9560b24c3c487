import { describe, expect, it, vi } from 'vitest';
import { MAX_CONCURRENT_POLLS, type FetchResponse } from '../../relay/wire.js';
import { blob, call, claim, errorOf, heldPolls, open, type Answer } from './helpers.js';

const poll = (nameplate: string, token: string, after: number, wait: number) =>
  call<FetchResponse>('GET', `/v1/mailboxes/${nameplate}/messages?after=${after}&wait=${wait}`, { token });

/** Resolves once the mailbox holds `count` long polls; they are parked in its memory, not in storage. */
const holding = (nameplate: string, count: number) =>
  vi.waitFor(async () => expect(await heldPolls(nameplate)).toBe(count), { timeout: 10_000, interval: 20 });

function expectPollsFull(answer: Answer, wait: number) {
  expect(answer.status).toBe(429);
  expect(errorOf(answer).code).toBe('too_many_polls');
  const retryHeader = Number(answer.headers.get('retry-after'));
  expect(errorOf(answer).retryAfter).toBe(retryHeader);
  // Until the first held poll's own wait runs out.
  expect(retryHeader).toBeGreaterThanOrEqual(1);
  expect(retryHeader).toBeLessThanOrEqual(wait);
}

describe('long polls held by one mailbox', () => {
  it(`refuses a third long poll with 429 too_many_polls while ${MAX_CONCURRENT_POLLS} are held, and takes one again once a place is free`, async () => {
    expect(MAX_CONCURRENT_POLLS).toBe(2);
    const host = await open();
    const guest = await claim(host.nameplate);
    // Each side waits for the other's next message, as a pairing does.
    const hostWaiting = poll(host.nameplate, host.token, 1, 20);
    const guestWaiting = poll(host.nameplate, guest.token, 1, 20);
    await holding(host.nameplate, 2);

    expectPollsFull(await poll(host.nameplate, host.token, 1, 20), 20);
    expectPollsFull(await poll(host.nameplate, guest.token, 1, 5), 20);
    // A token is still checked first, and a fetch that is answered at once holds no place, so it is never refused.
    expect((await poll(host.nameplate, 'not-a-token', 1, 20)).status).toBe(401);
    expect((await poll(host.nameplate, host.token, 1, 0)).body).toEqual({ messages: [], state: 'claimed' });
    const ready = await poll(host.nameplate, guest.token, 0, 20);
    expect(ready.status).toBe(200);
    expect(ready.body.messages.map((m) => m.seq)).toEqual([1]);
    expect(await heldPolls(host.nameplate)).toBe(2);

    // The guest posts: the host's poll is answered, and its place goes to the next poll that has to wait.
    const reply = blob(48);
    expect((await call('POST', `/v1/mailboxes/${host.nameplate}/messages`, { token: guest.token, body: { body: reply } })).status).toBe(200);
    expect((await hostWaiting).body).toEqual({ messages: [{ seq: 2, side: 'guest', body: reply }], state: 'claimed' });
    await holding(host.nameplate, 1);
    const hostAgain = poll(host.nameplate, host.token, 2, 20);
    await holding(host.nameplate, 2);
    expectPollsFull(await poll(host.nameplate, host.token, 2, 20), 20);

    // A close answers both held polls and frees every place.
    expect((await call('DELETE', `/v1/mailboxes/${host.nameplate}`, { token: host.token, body: { reason: 'done' } })).status).toBe(200);
    for (const answer of await Promise.all([guestWaiting, hostAgain])) {
      expect(answer.status).toBe(410);
      expect(errorOf(answer)).toMatchObject({ code: 'closed', reason: 'done' });
    }
    expect(await heldPolls(host.nameplate)).toBe(0);
  });

  it('counts places per mailbox, not per relay: other mailboxes take their own two', async () => {
    const first = await open();
    const second = await open();
    const waiting = [poll(first.nameplate, first.token, 1, 20), poll(first.nameplate, first.token, 1, 20)];
    await holding(first.nameplate, 2);
    const elsewhere = poll(second.nameplate, second.token, 1, 20);
    await holding(second.nameplate, 1);
    expectPollsFull(await poll(first.nameplate, first.token, 1, 20), 20);

    for (const { nameplate, token } of [first, second]) {
      expect((await call('DELETE', `/v1/mailboxes/${nameplate}`, { token, body: { reason: 'cancelled' } })).status).toBe(200);
    }
    for (const answer of await Promise.all([...waiting, elsewhere])) expect(errorOf(answer).code).toBe('closed');
  });
});
