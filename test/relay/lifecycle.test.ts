import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { TOMBSTONE_TTL_MS, type FetchResponse } from '../../relay/wire.js';
import { blob, call, claim, errorOf, mailboxStub, open, rewriteMeta, sleep, stored } from './helpers.js';

const messages = (nameplate: string, wait = 0) => `/v1/mailboxes/${nameplate}/messages?after=0&wait=${wait}`;

async function expectRefused(nameplate: string, tokens: { host: string; guest: string }, code: string, reason?: string) {
  const attempts = [
    call('POST', `/v1/mailboxes/${nameplate}/claim`),
    call('POST', `/v1/mailboxes/${nameplate}/messages`, { token: tokens.guest, body: { body: blob(16) } }),
    call('POST', `/v1/mailboxes/${nameplate}/messages`, { token: tokens.host, body: { body: blob(16) } }),
    call('GET', messages(nameplate), { token: tokens.host }),
    call('GET', messages(nameplate), { token: tokens.guest }),
    call('DELETE', `/v1/mailboxes/${nameplate}`, { token: tokens.host, body: { reason: 'cancelled' } }),
  ];
  for (const answer of await Promise.all(attempts)) {
    expect(answer.status).toBe(code === 'not_found' ? 404 : 410);
    expect(errorOf(answer).code).toBe(code);
    if (reason !== undefined) expect(errorOf(answer).reason).toBe(reason);
  }
}

describe('mailbox lifetime', () => {
  it('expires at its TTL (alarm), keeps only a tombstone, then forgets the nameplate so it can be opened again', async () => {
    const host = await open();
    const guest = await claim(host.nameplate);
    expect((await call('POST', `/v1/mailboxes/${host.nameplate}/messages`, { token: guest.token, body: { body: blob(64) } })).status).toBe(200);
    const stub = mailboxStub(host.nameplate);
    expect((await stored(host.nameplate)).alarm).toBe(Date.parse(host.expiresAt));

    // The TTL alarm.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await expectRefused(host.nameplate, { host: host.token, guest: guest.token }, 'expired');

    const tombstone = await stored(host.nameplate);
    expect(Object.keys(tombstone.entries)).toEqual(['meta']);
    const meta = tombstone.entries.meta as { state: string; forgetAt: number };
    expect(meta.state).toBe('expired');
    expect(tombstone.alarm).toBe(meta.forgetAt);
    expect(meta.forgetAt).toBeGreaterThan(Date.now() + TOMBSTONE_TTL_MS - 60_000);

    // The tombstone's alarm: nothing is left, not even the alarm.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const gone = await stored(host.nameplate);
    expect(gone).toEqual({ entries: {}, alarm: null });
    await expectRefused(host.nameplate, { host: host.token, guest: guest.token }, 'not_found');

    // A forgotten nameplate is free: the worker could draw it again.
    const reopened = await stub.open(blob(32), null);
    expect(reopened.ok).toBe(true);
    expect((await call('POST', `/v1/mailboxes/${host.nameplate}/claim`)).status).toBe(200);
  });

  it('enforces the TTL and the tombstone time on access even when an alarm runs late', async () => {
    const host = await open();
    const guest = await claim(host.nameplate);
    await rewriteMeta(host.nameplate, (meta) => ({ ...meta, expiresAt: Date.now() - 1 }));
    await expectRefused(host.nameplate, { host: host.token, guest: guest.token }, 'expired');
    const tombstone = await stored(host.nameplate);
    expect(Object.keys(tombstone.entries)).toEqual(['meta']);
    expect(tombstone.alarm).toBe((tombstone.entries.meta as { forgetAt: number }).forgetAt);

    await rewriteMeta(host.nameplate, (meta) => ({ ...meta, forgetAt: Date.now() - 1 }));
    await expectRefused(host.nameplate, { host: host.token, guest: guest.token }, 'not_found');
    expect(await stored(host.nameplate)).toEqual({ entries: {}, alarm: null });
  });

  it('frees a closed mailbox\'s nameplate within 10 minutes: the tombstone answers both parties until then, and the nameplate opens again', async () => {
    // Both parties long-poll at most MAX_WAIT_SECONDS apart, and a code is typed within its 10 minutes.
    expect(TOMBSTONE_TTL_MS).toBeLessThanOrEqual(10 * 60_000);
    const host = await open();
    const guest = await claim(host.nameplate);
    const closedAt = Date.now();
    expect((await call('DELETE', `/v1/mailboxes/${host.nameplate}`, { token: guest.token, body: { reason: 'done' } })).status).toBe(200);
    await expectRefused(host.nameplate, { host: host.token, guest: guest.token }, 'closed', 'done');

    const tombstone = await stored(host.nameplate);
    const { forgetAt } = tombstone.entries.meta as { forgetAt: number };
    expect(forgetAt).toBeGreaterThanOrEqual(closedAt + TOMBSTONE_TTL_MS);
    expect(forgetAt).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
    expect(tombstone.alarm).toBe(forgetAt);

    // The tombstone's alarm, as ten minutes would bring it: nothing left, and the nameplate is free.
    expect(await runDurableObjectAlarm(mailboxStub(host.nameplate))).toBe(true);
    expect(await stored(host.nameplate)).toEqual({ entries: {}, alarm: null });
    const reopened = await mailboxStub(host.nameplate).open(blob(32), null);
    expect(reopened.ok).toBe(true);
    const newGuest = await call<{ token: string }>('POST', `/v1/mailboxes/${host.nameplate}/claim`);
    expect(newGuest.status).toBe(200);
    // The old parties' tokens mean nothing to the new mailbox.
    expect((await call('GET', messages(host.nameplate), { token: guest.token })).status).toBe(401);
  });

  it('frees a nameplate whose tombstone is past its time even before the alarm runs', async () => {
    const host = await open();
    expect((await call('DELETE', `/v1/mailboxes/${host.nameplate}`, { token: host.token, body: { reason: 'cancelled' } })).status).toBe(200);
    expect((await mailboxStub(host.nameplate).open(blob(32), null)).ok).toBe(false);
    await rewriteMeta(host.nameplate, (meta) => ({ ...meta, forgetAt: Date.now() - 1 }));
    expect((await mailboxStub(host.nameplate).open(blob(32), null)).ok).toBe(true);
    expect((await call('POST', `/v1/mailboxes/${host.nameplate}/claim`)).status).toBe(200);
  });

  it('wakes a long poll with 410 expired when the mailbox expires under it', async () => {
    const host = await open();
    const waiting = call('GET', messages(host.nameplate, 10), { token: host.token });
    await sleep(200);
    const expiredAt = Date.now();
    await runDurableObjectAlarm(mailboxStub(host.nameplate));
    const answer = await waiting;
    expect(Date.now() - expiredAt).toBeLessThan(3000);
    expect(answer.status).toBe(410);
    expect(errorOf(answer).code).toBe('expired');
  });

  it('burns a mailbox closed with wrong_code: every later call gets 410 closed + wrong_code, a waiting fetch too', async () => {
    const host = await open();
    const guest = await claim(host.nameplate);
    expect((await call('POST', `/v1/mailboxes/${host.nameplate}/messages`, { token: guest.token, body: { body: blob(96) } })).status).toBe(200);

    // The joiner is waiting for the host's confirmation when the host finds the code was wrong.
    let guestDone = false;
    const guestWaiting = call<FetchResponse>('GET', `/v1/mailboxes/${host.nameplate}/messages?after=1&wait=10`, { token: guest.token }).finally(() => {
      guestDone = true;
    });
    await sleep(300);
    expect(guestDone).toBe(false);

    const closedAt = Date.now();
    const burned = await call('DELETE', `/v1/mailboxes/${host.nameplate}`, { token: host.token, body: { reason: 'wrong_code' } });
    expect(burned.status).toBe(200);
    expect(burned.body).toEqual({ closed: true });

    const woken = await guestWaiting;
    // Woken by the close itself, not by its 10 s wait running out.
    expect(Date.now() - closedAt).toBeLessThan(3000);
    expect(woken.status).toBe(410);
    expect(errorOf(woken)).toMatchObject({ code: 'closed', reason: 'wrong_code' });

    await expectRefused(host.nameplate, { host: host.token, guest: guest.token }, 'closed', 'wrong_code');

    // Burned at once: only the tombstone is left, with its own alarm to be forgotten.
    const tombstone = await stored(host.nameplate);
    expect(Object.keys(tombstone.entries)).toEqual(['meta']);
    const meta = tombstone.entries.meta as { state: string; reason: string; forgetAt: number };
    expect(meta).toMatchObject({ state: 'closed', reason: 'wrong_code' });
    expect(tombstone.alarm).toBe(meta.forgetAt);

    expect(await runDurableObjectAlarm(mailboxStub(host.nameplate))).toBe(true);
    expect(await stored(host.nameplate)).toEqual({ entries: {}, alarm: null });
    await expectRefused(host.nameplate, { host: host.token, guest: guest.token }, 'not_found');
  });

  it('lets the guest close too, and an unclaimed mailbox be cancelled by its host', async () => {
    const a = await open();
    const guest = await claim(a.nameplate);
    expect((await call('DELETE', `/v1/mailboxes/${a.nameplate}`, { token: guest.token, body: { reason: 'wrong_code' } })).status).toBe(200);
    const claimAfter = await call('POST', `/v1/mailboxes/${a.nameplate}/claim`);
    expect(errorOf(claimAfter)).toMatchObject({ code: 'closed', reason: 'wrong_code' });

    const b = await open();
    expect((await call('DELETE', `/v1/mailboxes/${b.nameplate}`, { token: b.token, body: { reason: 'cancelled' } })).status).toBe(200);
    const late = await call('POST', `/v1/mailboxes/${b.nameplate}/claim`);
    expect(late.status).toBe(410);
    expect(errorOf(late)).toMatchObject({ code: 'closed', reason: 'cancelled' });
  });
});
