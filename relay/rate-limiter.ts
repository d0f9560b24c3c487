/**
 * The relay's limits live in Durable Objects: one RateLimiter per client key (an IPv4 address or an
 * IPv6 /64, see client-key.ts), and one more, named ALL_CLIENTS, that counts the whole relay's live
 * mailboxes. A worker runs in many short-lived isolates across many locations, so counters in its
 * memory would limit an isolate, not a client, and the Workers rate-limiting binding counts per
 * location and only approximately; a Durable Object is a single instance that handles one event at a
 * time, so what it counts holds exactly, whichever isolate or location the requests come through.
 *
 * Per client: requests on every route in a sliding one-minute window, opens plus claims in a second
 * one, and one lease per live mailbox the client opened. The windows live in memory only: losing them
 * when the object is evicted after a quiet spell costs nothing a brake needs, and no client address is
 * ever written to storage. Leases are stored, because an eviction must not reset a cap. A lease names
 * its mailbox only by a random id and ends by itself with the mailbox, so a release that is lost costs
 * at most one mailbox's lifetime, and nothing is stored once a client's last lease has ended.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from './env.js';
import type { RelayLimits } from './limits.js';
import { failure, success, type Outcome } from './outcome.js';
import { MAILBOX_TTL_MS } from './wire.js';

export const RATE_WINDOW_MS = 60_000;
/** The name of the object that holds every live mailbox's lease; no client key looks like it. */
export const ALL_CLIENTS = '*';

/** What a request costs: every request is a `request`; an open or a claim is an `attempt` too. */
export type Charge = 'request' | 'attempt';
export type RateDecision = { ok: true } | { ok: false; retryAfter: number; window: Charge };
export type LeaseDecision = { ok: true } | { ok: false; retryAfter: number };

/** A live mailbox's place under the caps: a random id, and the limiter objects (ids) holding it. */
export interface MailboxLease {
  id: string;
  holders: string[];
}

class SlidingWindow {
  /** Times of the hits let through in the last window, oldest first. */
  private readonly hits: number[] = [];

  /** Seconds until one more hit fits under `limit`; 0 when it fits now. */
  wait(limit: number, now: number): number {
    while (this.hits.length > 0 && this.hits[0]! <= now - RATE_WINDOW_MS) this.hits.shift();
    if (this.hits.length < limit) return 0;
    // The hit that must leave the window before one more fits (the limit may have been lowered).
    const blocking = this.hits[this.hits.length - limit]!;
    return Math.max(1, Math.ceil((blocking + RATE_WINDOW_MS - now) / 1000));
  }

  add(now: number): void {
    this.hits.push(now);
  }
}

export class RateLimiter extends DurableObject<Env> {
  private readonly windows: Record<Charge, SlidingWindow> = { request: new SlidingWindow(), attempt: new SlidingWindow() };
  private leaseTable = false;

  /** Counts one request against this client's windows; a refused request counts in none. */
  admit(charge: Charge, limits: Pick<RelayLimits, 'requestsPerMinute' | 'attemptsPerMinute'>): RateDecision {
    const now = Date.now();
    const charged: [Charge, number][] = [['request', limits.requestsPerMinute]];
    if (charge === 'attempt') charged.push(['attempt', limits.attemptsPerMinute]);
    // A limit below 1 is off ("0"); the worker does not even ask when every limit is.
    const active = charged.filter(([, limit]) => limit >= 1);
    let decision: RateDecision = { ok: true };
    for (const [window, limit] of active) {
      const retryAfter = this.windows[window].wait(limit, now);
      // Every window must have room, so the retry is the longest wait.
      if (retryAfter > 0 && (decision.ok || retryAfter > decision.retryAfter)) decision = { ok: false, retryAfter, window };
    }
    if (decision.ok) for (const [window] of active) this.windows[window].add(now);
    return decision;
  }

  /** A lease on one more live mailbox, ending at `until`, unless `cap` leases are held already. */
  async hold(id: string, until: number, cap: number): Promise<LeaseDecision> {
    const sql = this.leases();
    const now = Date.now();
    sql.exec('DELETE FROM lease WHERE until <= ?', now);
    const { held, first } = sql.exec<{ held: number; first: number | null }>('SELECT count(*) AS held, min(until) AS first FROM lease').one();
    if (held >= cap) return { ok: false, retryAfter: Math.max(1, Math.ceil(((first ?? now) - now) / 1000)) };
    sql.exec('INSERT OR REPLACE INTO lease (id, until) VALUES (?, ?)', id, until);
    // Whatever a lost release leaves is cleared by an alarm; each run sets the next, for the latest lease.
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(until);
    return { ok: true };
  }

  async release(id: string): Promise<void> {
    const sql = this.leases();
    sql.exec('DELETE FROM lease WHERE id = ?', id);
    if (this.held() === 0) await this.forget();
  }

  override async alarm(): Promise<void> {
    const sql = this.leases();
    sql.exec('DELETE FROM lease WHERE until <= ?', Date.now());
    const { last } = sql.exec<{ last: number | null }>('SELECT max(until) AS last FROM lease').one();
    if (last === null) await this.forget();
    else await this.ctx.storage.setAlarm(last);
  }

  private held(): number {
    return this.leases().exec<{ held: number }>('SELECT count(*) AS held FROM lease').one().held;
  }

  private leases(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.leaseTable) {
      sql.exec('CREATE TABLE IF NOT EXISTS lease (id TEXT PRIMARY KEY, until INTEGER NOT NULL); CREATE INDEX IF NOT EXISTS lease_by_end ON lease (until)');
      this.leaseTable = true;
    }
    return sql;
  }

  /** No lease left: nothing of this client stays in storage. */
  private async forget(): Promise<void> {
    await this.ctx.storage.deleteAll();
    await this.ctx.storage.deleteAlarm();
    this.leaseTable = false;
  }
}

export function limiter(env: Env, name: string): DurableObjectStub<RateLimiter> {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));
}

/**
 * The lease for a mailbox `client` is about to open: under its own cap, then under the relay's (null
 * when both are off). It ends with the mailbox it is for (opened a moment later), so only a close needs
 * to release it.
 */
export async function holdLease(env: Env, client: string, limits: RelayLimits): Promise<Outcome<MailboxLease | null>> {
  const lease: MailboxLease = { id: crypto.randomUUID(), holders: [] };
  const until = Date.now() + MAILBOX_TTL_MS;
  const caps = [
    {
      name: client,
      cap: limits.mailboxesPerClient,
      refuse: (retryAfter: number) =>
        failure('too_many_mailboxes', `This address (or IPv6 /64) has ${limits.mailboxesPerClient} mailboxes open, as many as the relay allows; one ends within ${retryAfter} s.`, { retryAfter }),
    },
    {
      name: ALL_CLIENTS,
      cap: limits.mailboxesTotal,
      refuse: (retryAfter: number) => failure('relay_full', `The relay has ${limits.mailboxesTotal} mailboxes open, as many as it allows; retry in ${retryAfter} s.`, { retryAfter }),
    },
  ];
  for (const { name, cap, refuse } of caps) {
    if (cap === 0) continue;
    const id = env.RATE_LIMITER.idFromName(name);
    const decision = await env.RATE_LIMITER.get(id).hold(lease.id, until, cap);
    if (!decision.ok) {
      await releaseLease(env, lease);
      return refuse(decision.retryAfter);
    }
    lease.holders.push(id.toString());
  }
  return success(lease.holders.length > 0 ? lease : null);
}

/** Gives a mailbox's place back, now that it is no longer live. */
export async function releaseLease(env: Env, lease: MailboxLease): Promise<void> {
  await Promise.all(
    lease.holders.map(async (holder) => {
      try {
        await env.RATE_LIMITER.get(env.RATE_LIMITER.idFromString(holder)).release(lease.id);
      } catch (err) {
        // Only the error's name and message, as everywhere in the relay; the lease still ends with its mailbox.
        console.error('relay: a mailbox lease was not released early:', err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      }
    }),
  );
}
