/**
 * A brake on opening and claiming mailboxes: one Durable Object per client IP, counting its attempts in
 * a sliding one-minute window. Nameplates are short, so claim is where guessing would happen; open is
 * where nameplate exhaustion would.
 *
 * The window lives in memory only. Losing it when the object is evicted (after a quiet spell) costs
 * nothing a brake needs, and no client IP address is ever written to storage.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from './env.js';

export const RATE_WINDOW_MS = 60_000;

export type RateDecision = { ok: true } | { ok: false; retryAfter: number };

export class RateLimiter extends DurableObject<Env> {
  /** Times of the attempts let through in the current window, oldest first. */
  private hits: number[] = [];

  /** Counts one attempt against `limit` per minute; a refused attempt is not counted. */
  hit(limit: number): RateDecision {
    // The worker never asks with a limit below 1 ("0" means no brake); never block on a bad value either.
    if (!(limit >= 1)) return { ok: true };
    const now = Date.now();
    while (this.hits.length > 0 && this.hits[0]! <= now - RATE_WINDOW_MS) this.hits.shift();
    if (this.hits.length >= limit) {
      // The attempt that must leave the window before one more fits (the limit may have been lowered).
      const blocking = this.hits[this.hits.length - limit]!;
      return { ok: false, retryAfter: Math.max(1, Math.ceil((blocking + RATE_WINDOW_MS - now) / 1000)) };
    }
    this.hits.push(now);
    return { ok: true };
  }
}
