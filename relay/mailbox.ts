/**
 * One pairing mailbox: a Durable Object per nameplate, so every call for a nameplate runs in one place,
 * one event at a time, against strongly consistent storage.
 *
 * Storage (SQLite-backed, through the synchronous KV API):
 *   meta          MailboxMeta: the state and its times (plus the close reason on a tombstone)
 *   hash:host     SHA-256 (hex) of the host's token      -- never the token itself
 *   hash:guest    SHA-256 (hex) of the guest's token, once claimed
 *   msg:NNNN      RelayMessage {seq, side, body}; body is opaque base64url
 *   lease         MailboxLease: its place under the caps on live mailboxes, given back on close
 * A closed or expired mailbox keeps only `meta` (the tombstone) until the tombstone is forgotten; then
 * storage is empty and the nameplate can be opened again.
 *
 * One alarm at a time, always for the next transition: at expiresAt while live (-> expired tombstone),
 * at forgetAt while a tombstone (-> nothing). Calls also apply a transition that is due but whose alarm
 * has not run yet, because alarms can run late and the TTL is a promise to the user.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from './env.js';
import { failure, success, type Outcome, type RelayFailure } from './outcome.js';
import { releaseLease, type MailboxLease } from './rate-limiter.js';
import { newToken, sameHash, tokenHash } from './secrets.js';
import {
  MAILBOX_TTL_MS,
  MAX_CONCURRENT_POLLS,
  MAX_MESSAGES_PER_SIDE,
  TOMBSTONE_TTL_MS,
  type ClaimResponse,
  type CloseReason,
  type CloseResponse,
  type FetchResponse,
  type MailboxState,
  type PostResponse,
  type RelayMessage,
  type Side,
} from './wire.js';

export type MailboxMeta =
  | { state: MailboxState; createdAt: number; expiresAt: number }
  | { state: 'closed'; reason: CloseReason; forgetAt: number }
  | { state: 'expired'; forgetAt: number };
type LiveMeta = Extract<MailboxMeta, { state: MailboxState }>;

/** `inUse` is not a relay error: it tells the worker to draw another nameplate. */
export type OpenResult = { ok: true; token: string; expiresAt: string } | { ok: false; inUse: true };

export const META_KEY = 'meta';
export const HASH_PREFIX = 'hash:';
export const MESSAGE_PREFIX = 'msg:';
export const LEASE_KEY = 'lease';

const hashKey = (side: Side) => `${HASH_PREFIX}${side}`;
// Zero-padded so that listing the prefix returns messages in seq order.
const messageKey = (seq: number) => `${MESSAGE_PREFIX}${String(seq).padStart(4, '0')}`;
const otherSide = (side: Side): Side => (side === 'host' ? 'guest' : 'host');
const iso = (ms: number) => new Date(ms).toISOString();

export class Mailbox extends DurableObject<Env> {
  /** Long polls parked until something changes; in memory only, since they die with their requests anyway. */
  private readonly waiters = new Set<() => void>();
  /**
   * The long polls holding one of the MAX_CONCURRENT_POLLS places, by deadline. A poll whose client
   * went away keeps its place until its own wait ends (at most MAX_WAIT_SECONDS).
   */
  private readonly held = new Set<{ deadline: number }>();

  /** `lease` is the mailbox's place under the caps, null when they are off. */
  async open(message: string, lease: MailboxLease | null): Promise<OpenResult> {
    const token = newToken();
    const hash = await tokenHash(token);
    await this.catchUp();
    // From the check to the writes, no await: no other call can slip in between.
    if (this.current() !== null) return { ok: false, inUse: true };
    const createdAt = Date.now();
    const expiresAt = createdAt + MAILBOX_TTL_MS;
    this.ctx.storage.transactionSync(() => {
      this.kv.put<MailboxMeta>(META_KEY, { state: 'open', createdAt, expiresAt });
      this.kv.put(hashKey('host'), hash);
      this.kv.put<RelayMessage>(messageKey(1), { seq: 1, side: 'host', body: message });
      if (lease !== null) this.kv.put<MailboxLease>(LEASE_KEY, lease);
    });
    await this.ctx.storage.setAlarm(expiresAt);
    return { ok: true, token, expiresAt: iso(expiresAt) };
  }

  async claim(): Promise<Outcome<ClaimResponse>> {
    // The guest's token is minted and hashed before looking at the state, so no await separates the
    // check below from the write: two claims can never both see "open". (catchUp only awaits when it
    // turns the mailbox into a tombstone, which no claim gets past.)
    const token = newToken();
    const hash = await tokenHash(token);
    await this.catchUp();
    const meta = this.current();
    const refused = refusal(meta);
    if (refused) return refused;
    const live = meta as LiveMeta;
    if (live.state === 'claimed') return failure('already_claimed', 'This mailbox has already been claimed; a code works once.');
    this.ctx.storage.transactionSync(() => {
      this.kv.put(hashKey('guest'), hash);
      this.kv.put<MailboxMeta>(META_KEY, { ...live, state: 'claimed' });
    });
    // A host long-polling sees the new state on its next answer; nothing it waits for has arrived yet.
    return success({ token, expiresAt: iso(live.expiresAt), messages: this.messages().filter((m) => m.side === 'host') });
  }

  async post(token: string | null, body: string): Promise<Outcome<PostResponse>> {
    const hash = token === null ? null : await tokenHash(token);
    await this.catchUp();
    const gate = this.authorise(hash);
    if (!gate.ok) return gate;
    const side = gate.value;
    const messages = this.messages();
    if (messages.filter((m) => m.side === side).length >= MAX_MESSAGES_PER_SIDE) {
      return failure('too_many_messages', `A side may post at most ${MAX_MESSAGES_PER_SIDE} messages.`);
    }
    // Messages are never removed one by one, so the next seq is one past the count.
    const seq = messages.length + 1;
    this.kv.put<RelayMessage>(messageKey(seq), { seq, side, body });
    this.wake();
    return success({ seq });
  }

  /**
   * The long poll: the other side's messages after `after`, waiting up to waitMs for the first one.
   * Only a poll that has to wait takes one of the MAX_CONCURRENT_POLLS places; one that is answered at
   * once holds nothing, so it is never refused.
   */
  async poll(token: string | null, after: number, waitMs: number): Promise<Outcome<FetchResponse>> {
    const hash = token === null ? null : await tokenHash(token);
    const deadline = Date.now() + waitMs;
    let place: { deadline: number } | null = null;
    try {
      for (;;) {
        await this.catchUp();
        // Re-checked on every wake-up: a close or an expiry while waiting must answer 410, not "no messages".
        const gate = this.authorise(hash);
        if (!gate.ok) return gate;
        const wanted = otherSide(gate.value);
        const messages = this.messages().filter((m) => m.side === wanted && m.seq > after);
        const remaining = deadline - Date.now();
        if (messages.length > 0 || remaining <= 0) {
          return success({ messages, state: (this.current() as LiveMeta).state });
        }
        if (place === null) {
          // No await since the checks above: the count cannot change under this decision.
          if (this.held.size >= MAX_CONCURRENT_POLLS) return this.pollsFull();
          place = { deadline };
          this.held.add(place);
        }
        await this.nextChange(remaining);
      }
    } finally {
      if (place !== null) this.held.delete(place);
    }
  }

  async close(token: string | null, reason: CloseReason): Promise<Outcome<CloseResponse>> {
    const hash = token === null ? null : await tokenHash(token);
    await this.catchUp();
    const gate = this.authorise(hash);
    if (!gate.ok) return gate;
    const forgetAt = Date.now() + TOMBSTONE_TTL_MS;
    const lease = this.kv.get<MailboxLease>(LEASE_KEY);
    // Burned at once: nothing of the exchange outlives the close, only why it ended.
    this.becomeTombstone({ state: 'closed', reason, forgetAt });
    await this.ctx.storage.setAlarm(forgetAt);
    // A tombstone is not a live mailbox: its opener may open another at once. (An expired mailbox's lease
    // ended with it.)
    if (lease !== undefined) await releaseLease(this.env, lease);
    return success({ closed: true });
  }

  override async alarm(): Promise<void> {
    // Only one alarm is ever pending and it is always for the next transition, so the stored state,
    // not the clock, says what to do (and a test can run the alarm early).
    const meta = this.kv.get<MailboxMeta>(META_KEY);
    if (meta && isLive(meta)) await this.expire();
    else await this.forget();
  }

  private get kv(): SyncKvStorage {
    return this.ctx.storage.kv;
  }

  /** The stored meta as of now: a live mailbox past its expiry reads as expired, a tombstone past its time as gone. */
  private current(): MailboxMeta | null {
    const meta = this.kv.get<MailboxMeta>(META_KEY) ?? null;
    const now = Date.now();
    if (meta === null) return null;
    if (isLive(meta)) return now >= meta.expiresAt ? { state: 'expired', forgetAt: meta.expiresAt + TOMBSTONE_TTL_MS } : meta;
    return now >= meta.forgetAt ? null : meta;
  }

  /** Carries out in storage a transition that is due but whose alarm has not run (yet). */
  private async catchUp(): Promise<void> {
    const meta = this.kv.get<MailboxMeta>(META_KEY);
    if (!meta) return;
    const now = Date.now();
    if (isLive(meta) && now >= meta.expiresAt) await this.expire();
    else if (!isLive(meta) && now >= meta.forgetAt) await this.forget();
  }

  private async expire(): Promise<void> {
    const forgetAt = Date.now() + TOMBSTONE_TTL_MS;
    this.becomeTombstone({ state: 'expired', forgetAt });
    await this.ctx.storage.setAlarm(forgetAt);
  }

  private async forget(): Promise<void> {
    await this.ctx.storage.deleteAll();
    // deleteAll takes the alarm with it only from compatibility date 2026-02-24; say so explicitly.
    await this.ctx.storage.deleteAlarm();
    this.wake();
  }

  private becomeTombstone(tombstone: Extract<MailboxMeta, { forgetAt: number }>): void {
    this.ctx.storage.transactionSync(() => {
      const keys = [...this.kv.list()].map(([key]) => key);
      for (const key of keys) this.kv.delete(key);
      this.kv.put<MailboxMeta>(META_KEY, tombstone);
    });
    this.wake();
  }

  /** Which side this token hash belongs to, after the mailbox's own state had its say (410 beats 401). */
  private authorise(hash: string | null): Outcome<Side> {
    const refused = refusal(this.current());
    if (refused) return refused;
    if (hash !== null) {
      for (const side of ['host', 'guest'] as const) {
        const stored = this.kv.get<string>(hashKey(side));
        if (stored !== undefined && sameHash(stored, hash)) return success(side);
      }
    }
    return failure('unauthorized', 'A valid mailbox token is required (Authorization: Bearer <token>).');
  }

  private pollsFull(): RelayFailure {
    const freed = Math.min(...[...this.held].map((place) => place.deadline));
    const retryAfter = Math.max(1, Math.ceil((freed - Date.now()) / 1000));
    return failure('too_many_polls', `${MAX_CONCURRENT_POLLS} requests are already waiting on this mailbox, as many as it holds at once; retry in ${retryAfter} s.`, {
      retryAfter,
    });
  }

  private messages(): RelayMessage[] {
    return [...this.kv.list<RelayMessage>({ prefix: MESSAGE_PREFIX })].map(([, message]) => message);
  }

  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function isLive(meta: MailboxMeta): meta is LiveMeta {
  return meta.state === 'open' || meta.state === 'claimed';
}

/** The answer for a mailbox that cannot take calls any more (or never existed); null while it is live. */
function refusal(meta: MailboxMeta | null): RelayFailure | null {
  if (meta === null) return failure('not_found', 'No mailbox has this nameplate; check the code.');
  if (meta.state === 'expired') return failure('expired', 'This mailbox has expired; ask for a new code.');
  if (meta.state === 'closed') {
    const why = meta.reason === 'wrong_code' ? 'a wrong code was used, so it was burned' : `it was closed (${meta.reason})`;
    return failure('closed', `This mailbox is closed: ${why}.`, { reason: meta.reason });
  }
  return null;
}
