import { describe, expect, it } from 'vitest';
import type { ClaimResponse } from '../../relay/wire.js';
import { call, errorOf, open, sha256Hex, stored } from './helpers.js';

describe('claiming a mailbox', () => {
  it('lets exactly one of 100 concurrent claims through; the other 99 get 409 already_claimed', async () => {
    const host = await open();
    // Each claim comes from its own address (helpers.call), so only the mailbox decides.
    const answers = await Promise.all(Array.from({ length: 100 }, () => call<ClaimResponse>('POST', `/v1/mailboxes/${host.nameplate}/claim`)));

    const winners = answers.filter((a) => a.status === 200);
    const losers = answers.filter((a) => a.status !== 200);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(99);
    for (const loser of losers) {
      expect(loser.status).toBe(409);
      expect(errorOf(loser).code).toBe('already_claimed');
    }

    // The stored guest hash is the winner's token, not one of the losers' freshly minted ones.
    const { entries } = await stored(host.nameplate);
    expect(entries['hash:guest']).toBe(await sha256Hex(winners[0]!.body.token));
    expect((entries.meta as { state: string }).state).toBe('claimed');
  });

  it('refuses a later claim too, and answers 404 not_found for a nameplate nobody opened', async () => {
    const host = await open();
    expect((await call('POST', `/v1/mailboxes/${host.nameplate}/claim`)).status).toBe(200);
    const again = await call('POST', `/v1/mailboxes/${host.nameplate}/claim`);
    expect(again.status).toBe(409);
    expect(errorOf(again).code).toBe('already_claimed');

    const [i, j] = host.nameplate.split('-').map(Number) as [number, number];
    const other = `${(i + 1) % 2048}-${j}`;
    const missing = await call('POST', `/v1/mailboxes/${other}/claim`);
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('not_found');
  });

  it('treats a zero-padded nameplate as the same mailbox', async () => {
    const host = await open();
    const [i, j] = host.nameplate.split('-');
    const padded = `${i!.padStart(4, '0')}-${j!.padStart(4, '0')}`;
    expect((await call('POST', `/v1/mailboxes/${padded}/claim`)).status).toBe(200);
    expect((await call('POST', `/v1/mailboxes/${host.nameplate}/claim`)).status).toBe(409);
  });
});
