import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { clientKey } from '../../relay/client-key.js';
import { LEASE_KEY } from '../../relay/mailbox.js';
import { ALL_CLIENTS, limiter, type MailboxLease } from '../../relay/rate-limiter.js';
import { MAILBOX_TTL_MS, type OpenResponse } from '../../relay/wire.js';
import { blob, call, claim, errorOf, leases, mailboxStub, randomIp, randomPrefix, rewriteMeta, stored, type Answer } from './helpers.js';

const openFrom = (ip: string, vars: Record<string, string>) => call<OpenResponse>('POST', '/v1/mailboxes', { ip, vars, body: { message: blob(16) } });
const closeBy = (nameplate: string, token: string, reason = 'cancelled') => call('DELETE', `/v1/mailboxes/${nameplate}`, { token, body: { reason } });

function expectCapped(answer: Answer, status: number, code: string) {
  expect(answer.status).toBe(status);
  const retryHeader = Number(answer.headers.get('retry-after'));
  expect(errorOf(answer).code).toBe(code);
  expect(errorOf(answer).retryAfter).toBe(retryHeader);
  // Until the oldest open mailbox expires: within the TTL, and not at once.
  expect(retryHeader).toBeGreaterThanOrEqual(1);
  expect(retryHeader).toBeLessThanOrEqual(MAILBOX_TTL_MS / 1000);
}

async function leaseOf(nameplate: string): Promise<MailboxLease> {
  return (await stored(nameplate)).entries[LEASE_KEY] as MailboxLease;
}

describe('caps on live mailboxes', () => {
  it('caps one client (an address, or an IPv6 /64) at LIVE_MAILBOXES_PER_CLIENT; a close by either side gives a place back', async () => {
    const vars = { LIVE_MAILBOXES_PER_CLIENT: '3' };
    const net = randomPrefix();
    const opened: OpenResponse[] = [];
    for (let i = 1; i <= 3; i++) {
      const answer = await openFrom(`${net}::${i}`, vars);
      expect(answer.status).toBe(200);
      opened.push(answer.body);
    }
    expectCapped(await openFrom(`${net}::99`, vars), 429, 'too_many_mailboxes');
    // Another client is not held up.
    expect((await openFrom(randomIp(), vars)).status).toBe(200);

    // The host cancels one: its place is free at once, though its tombstone stays.
    expect((await closeBy(opened[0]!.nameplate, opened[0]!.token)).status).toBe(200);
    const fourth = await openFrom(`${net}::4`, vars);
    expect(fourth.status).toBe(200);
    expectCapped(await openFrom(`${net}::5`, vars), 429, 'too_many_mailboxes');

    // The guest closes another (from its own address): the opener gets the place back all the same.
    const guest = await claim(opened[1]!.nameplate);
    expect((await closeBy(opened[1]!.nameplate, guest.token, 'done')).status).toBe(200);
    expect((await openFrom(`${net}::6`, vars)).status).toBe(200);
    expectCapped(await openFrom(`${net}::7`, vars), 429, 'too_many_mailboxes');
  });

  it('lets an expired mailbox stop counting without any release, and leaves nothing of the client stored once its last lease ends', async () => {
    const vars = { LIVE_MAILBOXES_PER_CLIENT: '1' };
    const ip = randomIp();
    const key = clientKey(ip);
    const first = (await openFrom(ip, vars)).body;
    expectCapped(await openFrom(ip, vars), 429, 'too_many_mailboxes');

    // The lease ends when its mailbox does: move both ends into the past, as ten minutes would.
    const lease = await leaseOf(first.nameplate);
    expect(Object.keys(await leases(key))).toEqual([lease.id]);
    expect((await leases(key))[lease.id]).toBeLessThanOrEqual(Date.parse(first.expiresAt));
    await runInDurableObject(limiter(env, key), (_instance, state) => {
      state.storage.sql.exec('UPDATE lease SET until = ? WHERE id = ?', Date.now() - 1, lease.id);
    });
    await rewriteMeta(first.nameplate, (meta) => ({ ...meta, expiresAt: Date.now() - 1 }));
    expect(await runDurableObjectAlarm(mailboxStub(first.nameplate))).toBe(true);

    const second = await openFrom(ip, vars);
    expect(second.status).toBe(200);
    expect(Object.keys(await leases(key))).toEqual([(await leaseOf(second.body.nameplate)).id]);

    // Closing the last live mailbox empties the client's object: no lease, no table, no alarm.
    expect((await closeBy(second.body.nameplate, second.body.token)).status).toBe(200);
    const left = await runInDurableObject(limiter(env, key), async (_instance, state) => ({
      tables: state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'").toArray(),
      alarm: await state.storage.getAlarm(),
    }));
    expect(left).toEqual({ tables: [], alarm: null });
  });

  it('clears leases a lost release left behind with an alarm', async () => {
    const ip = randomIp();
    const key = clientKey(ip);
    const opened = (await openFrom(ip, { LIVE_MAILBOXES_PER_CLIENT: '5' })).body;
    // The mailbox names its lease's holders by Durable Object id, never by address: the client's, then the relay's.
    expect((await leaseOf(opened.nameplate)).holders).toEqual([env.RATE_LIMITER.idFromName(key).toString(), env.RATE_LIMITER.idFromName(ALL_CLIENTS).toString()]);

    // As if the close had never reached the limiter: the lease simply runs out, and the alarm clears it.
    await runInDurableObject(limiter(env, key), (_instance, state) => {
      state.storage.sql.exec('UPDATE lease SET until = ?', Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(limiter(env, key))).toBe(true);
    expect(await leases(key)).toEqual({});
  });

  it('caps the whole relay at LIVE_MAILBOXES_TOTAL with 503 relay_full, and a refused open holds no place of its own client', async () => {
    // Whatever this file's other tests left open counts too; the cap is set a few above it.
    const before = Object.keys(await leases(ALL_CLIENTS)).length;
    const vars = { LIVE_MAILBOXES_TOTAL: String(before + 2) };
    const a = (await openFrom(randomIp(), vars)).body;
    expect((await openFrom(randomIp(), vars)).status).toBe(200);
    const refusedIp = randomIp();
    const refused = await openFrom(refusedIp, vars);
    expectCapped(refused, 503, 'relay_full');
    expect(await leases(clientKey(refusedIp))).toEqual({});

    expect((await closeBy(a.nameplate, a.token)).status).toBe(200);
    expect((await openFrom(refusedIp, vars)).status).toBe(200);
    expectCapped(await openFrom(randomIp(), vars), 503, 'relay_full');
    // "0" turns the cap off.
    expect((await openFrom(randomIp(), { LIVE_MAILBOXES_TOTAL: '0' })).status).toBe(200);
  });
});
